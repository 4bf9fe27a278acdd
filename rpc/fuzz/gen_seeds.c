/* gen_seeds.c - writes the fuzzer's seed corpus (run at build time by
 * `make fuzz-ci`, so no binary files are committed): well-formed requests,
 * replies and notifications in several shapes, pipelined streams, and the
 * hostile inputs the unit tests use. Each file is a control byte (see
 * fuzz_wire.c) followed by the stream. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

static const char *dir;
static int nfile;

static void emit(unsigned char ctl, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/seed-%03d", dir, nfile++);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputc(ctl, f);
    fwrite(p, 1, n, f);
    fclose(f);
}

static void str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

static void request(msgpack_packer *pk, unsigned id, const char *method,
                    int shape)
{
    msgpack_pack_array(pk, 4);
    msgpack_pack_int(pk, 0);
    msgpack_pack_uint32(pk, id);
    str(pk, method);
    msgpack_pack_array(pk, 1);
    switch (shape) {
    case 0: /* Raft AppendEntries-like */
        msgpack_pack_map(pk, 6);
        str(pk, "term"); msgpack_pack_int(pk, 3);
        str(pk, "leader"); msgpack_pack_int(pk, 1);
        str(pk, "prev"); msgpack_pack_int64(pk, -1);
        str(pk, "ok"); msgpack_pack_true(pk);
        str(pk, "cmd"); msgpack_pack_bin_with_body(pk, "\x01\x02", 2);
        str(pk, "ents");
        msgpack_pack_array(pk, 2);
        for (int i = 0; i < 2; i++) {
            msgpack_pack_map(pk, 2);
            str(pk, "t"); msgpack_pack_int(pk, i);
            str(pk, "c"); str(pk, "put x 1");
        }
        break;
    case 1:
        msgpack_pack_map(pk, 0);
        break;
    case 2:
        msgpack_pack_nil(pk);
        break;
    default: /* every scalar type */
        msgpack_pack_map(pk, 8);
        str(pk, "f"); msgpack_pack_double(pk, 1.5);
        str(pk, "g"); msgpack_pack_float(pk, 2.5f);
        str(pk, "u"); msgpack_pack_uint64(pk, ~0ull);
        str(pk, "i"); msgpack_pack_int64(pk, -(1ll << 40));
        str(pk, "e"); msgpack_pack_ext(pk, 4, 7);
        msgpack_pack_ext_body(pk, "abcd", 4);
        str(pk, "n"); msgpack_pack_nil(pk);
        str(pk, "b"); msgpack_pack_false(pk);
        str(pk, "s"); str(pk, "a longer string value that needs str8.");
        break;
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_seeds DIR\n");
        return 2;
    }
    dir = argv[1];
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);

    for (int shape = 0; shape < 4; shape++) {
        msgpack_sbuffer_clear(&sb);
        request(&pk, 7 + (unsigned)shape, "Raft.AppendEntries", shape);
        emit(0, sb.data, sb.size);
        emit(0x41, sb.data, sb.size); /* small limits, chunked */
    }
    /* replies: success, error string, structured error */
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_uint32(&pk, 7);
    msgpack_pack_nil(&pk);
    msgpack_pack_map(&pk, 2);
    str(&pk, "term"); msgpack_pack_int(&pk, 4);
    str(&pk, "ok"); msgpack_pack_true(&pk);
    emit(0, sb.data, sb.size);
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_uint32(&pk, 8);
    str(&pk, "ErrWrongLeader");
    msgpack_pack_nil(&pk);
    emit(0, sb.data, sb.size);
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_uint32(&pk, 9);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_int(&pk, 1);
    str(&pk, "boom");
    msgpack_pack_nil(&pk);
    emit(0, sb.data, sb.size);
    /* notification */
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_int(&pk, 2);
    str(&pk, "KV.Put");
    msgpack_pack_array(&pk, 0);
    emit(0, sb.data, sb.size);
    /* a pipelined stream of 20 mixed requests */
    msgpack_sbuffer_clear(&sb);
    for (unsigned i = 0; i < 20; i++)
        request(&pk, i, i % 2 ? "KV.Get" : "Raft.RequestVote", (int)(i % 4));
    emit(0, sb.data, sb.size);
    emit(0x1c, sb.data, sb.size);
    /* deep nesting (legal and not) */
    unsigned char deep[40];
    memset(deep, 0x91, sizeof(deep));
    deep[20] = 0xc0;
    emit(0, deep, 21);
    emit(0, deep, sizeof(deep));
    /* hostile headers from the unit tests */
    static const unsigned char hostile[][12] = {
        {0xdd, 0x10, 0x00, 0x00, 0x00},
        {0xdf, 0xff, 0xff, 0xff, 0xff},
        {0x94, 0x00, 0x01, 0xdb, 0x7f, 0xff, 0xff, 0xff},
        {0x94, 0x00, 0x01, 0xa1, 'm', 0x91, 0xc6, 0x10, 0, 0, 0},
        {0x94, 0x00, 0x01, 0xc1},
        {0x94, 0x00, 0xff, 0xa1, 'm', 0x90},
        {0x93, 0x00, 0x07, 0xa1, 'm'},
        {0x94, 0x00, 0x07, 0xa1, 'm', 0x91, 0x01},
        {0x94, 0x00, 0x07, 0xa1, 'm', 0x92, 0x80, 0x80},
    };
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++)
        emit((unsigned char)(i * 5), hostile[i], sizeof(hostile[i]));
    msgpack_sbuffer_destroy(&sb);
    printf("wrote %d seeds to %s\n", nfile, dir);
    return 0;
}
