/* test_rpc_codec.c - unit tests for the pure parts of rpc/: pack/decode
 * helpers, the structural scanner and its limits, envelope parsing and the
 * receive buffer's framing. No sockets or threads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "rpc/rpc.h"
#include "rpc/rpc_internal.h"

/* ------------------------------------------------------------------------
 * Helpers */

struct packed {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_zone zone;
    msgpack_object obj;
};

static void packed_begin(struct packed *p)
{
    msgpack_sbuffer_init(&p->sb);
    msgpack_packer_init(&p->pk, &p->sb, msgpack_sbuffer_write);
    msgpack_zone_init(&p->zone, 1024);
}

/* Decode what was packed (through our bounded unpack path). */
static const msgpack_object *packed_decode(struct packed *p)
{
    size_t len = p->sb.size, n;
    struct rpc_limits lim;
    rpc_limits_for(&lim, 1 << 20);
    assert_int_equal(rpc_scan_object((const uint8_t *)p->sb.data, len, &lim,
                                     &n),
                     1);
    assert_int_equal(n, len);
    assert_int_equal(
        rpc_wire_unpack((const uint8_t *)p->sb.data, len, &p->zone, &p->obj),
        0);
    return &p->obj;
}

static void packed_end(struct packed *p)
{
    msgpack_zone_destroy(&p->zone);
    msgpack_sbuffer_destroy(&p->sb);
}

static const struct rpc_limits *lim_1m(void)
{
    static struct rpc_limits l;
    rpc_limits_for(&l, 1 << 20);
    return &l;
}

/* ------------------------------------------------------------------------
 * Codec */

/* Every kv helper round-trips through the decoders. */
static void test_codec_roundtrip(void **state)
{
    (void)state;
    struct packed p;
    packed_begin(&p);
    msgpack_pack_map(&p.pk, 12);
    rpc_pack_kv_i64(&p.pk, "neg", -5);
    rpc_pack_kv_i64(&p.pk, "min", INT64_MIN);
    rpc_pack_kv_i64(&p.pk, "pos", 7); /* decodes as POSITIVE_INTEGER */
    rpc_pack_kv_u64(&p.pk, "big", UINT64_MAX);
    rpc_pack_kv_bool(&p.pk, "t", true);
    rpc_pack_kv_bool(&p.pk, "f", false);
    rpc_pack_kv_str(&p.pk, "s", "ab\0c", 4);
    rpc_pack_kv_cstr(&p.pk, "cs", "hello");
    rpc_pack_kv_bin(&p.pk, "b", "\x01\x02\x03", 3);
    rpc_pack_kv_cstr(&p.pk, "null", NULL);
    rpc_pack_key(&p.pk, "arr");
    msgpack_pack_array(&p.pk, 2);
    msgpack_pack_int(&p.pk, 1);
    rpc_pack_cstr(&p.pk, "x");
    rpc_pack_kv_str(&p.pk, "empty", "", 0);
    const msgpack_object *o = packed_decode(&p);

    struct rpc_dec d;
    rpc_dec_init(&d, o);
    assert_int_equal(d.err, 0);
    assert_int_equal(rpc_dec_i64(&d, "neg", 0), -5);
    assert_true(rpc_dec_i64(&d, "min", 0) == INT64_MIN);
    assert_int_equal(rpc_dec_i64(&d, "pos", 0), 7);
    assert_int_equal(rpc_dec_int(&d, "pos", 0), 7);
    assert_int_equal(rpc_dec_u64(&d, "pos", 0), 7);
    assert_true(rpc_dec_u64(&d, "big", 0) == UINT64_MAX);
    assert_true(rpc_dec_bool(&d, "t", false));
    assert_false(rpc_dec_bool(&d, "f", true));
    size_t n;
    const char *s = rpc_dec_bytes(&d, "s", &n);
    assert_int_equal(n, 4);
    assert_memory_equal(s, "ab\0c", 4);
    char *cs = rpc_dec_strdup(&d, "cs");
    assert_string_equal(cs, "hello");
    free(cs);
    s = rpc_dec_bytes(&d, "b", &n); /* bin is accepted as bytes */
    assert_int_equal(n, 3);
    assert_memory_equal(s, "\x01\x02\x03", 3);
    /* nil reads as absent */
    assert_null(rpc_dec_bytes(&d, "null", &n));
    assert_int_equal(n, 0);
    assert_int_equal(rpc_dec_i64(&d, "null", 42), 42);
    const msgpack_object *items;
    assert_int_equal(rpc_dec_array(&d, "arr", &items), 2);
    int64_t v;
    assert_int_equal(rpc_obj_i64(&items[0], &v), 0);
    assert_int_equal(v, 1);
    assert_true(rpc_obj_streq(&items[1], "x"));
    assert_false(rpc_obj_streq(&items[1], "xy"));
    assert_false(rpc_obj_streq(&items[0], "1"));
    /* empty string present: non-NULL pointer, length 0 */
    s = rpc_dec_bytes(&d, "empty", &n);
    assert_non_null(s);
    assert_int_equal(n, 0);
    cs = rpc_dec_strdup(&d, "empty");
    assert_string_equal(cs, "");
    free(cs);
    assert_int_equal(d.err, 0);
    packed_end(&p);
}

/* Missing fields give defaults without error. */
static void test_codec_defaults(void **state)
{
    (void)state;
    struct packed p;
    packed_begin(&p);
    msgpack_pack_map(&p.pk, 0);
    struct rpc_dec d;
    rpc_dec_init(&d, packed_decode(&p));
    assert_int_equal(rpc_dec_i64(&d, "x", -3), -3);
    assert_int_equal(rpc_dec_u64(&d, "x", 9), 9);
    assert_int_equal(rpc_dec_int(&d, "x", 11), 11);
    assert_true(rpc_dec_bool(&d, "x", true));
    size_t n = 99;
    assert_null(rpc_dec_bytes(&d, "x", &n));
    assert_int_equal(n, 0);
    assert_null(rpc_dec_strdup(&d, "x"));
    const msgpack_object *items = (const msgpack_object *)1;
    assert_int_equal(rpc_dec_array(&d, "x", &items), 0);
    assert_null(items);
    assert_null(rpc_dec_field(&d, "x"));
    assert_int_equal(d.err, 0);
    packed_end(&p);
}

/* A wrong type sets the sticky error; later reads return defaults. */
static void test_codec_sticky_error(void **state)
{
    (void)state;
    struct packed p;
    packed_begin(&p);
    msgpack_pack_map(&p.pk, 2);
    rpc_pack_kv_cstr(&p.pk, "n", "not a number");
    rpc_pack_kv_i64(&p.pk, "ok", 5);
    struct rpc_dec d;
    rpc_dec_init(&d, packed_decode(&p));
    assert_int_equal(rpc_dec_i64(&d, "ok", 0), 5);
    assert_int_equal(rpc_dec_i64(&d, "n", 77), 77);
    assert_int_equal(d.err, ERR_BADARGS);
    /* "ok" is valid but the error is sticky */
    assert_int_equal(rpc_dec_i64(&d, "ok", 1), 1);
    assert_null(rpc_dec_field(&d, "ok"));
    assert_int_equal(d.err, ERR_BADARGS);
    packed_end(&p);

    /* Each reader rejects its wrong types. */
    struct {
        int which;
    } cases[] = {{0}, {1}, {2}, {3}, {4}, {5}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        packed_begin(&p);
        msgpack_pack_map(&p.pk, 1);
        rpc_pack_key(&p.pk, "k");
        if (cases[i].which == 3)
            msgpack_pack_int(&p.pk, 1); /* int where bool/bytes/array */
        else
            msgpack_pack_true(&p.pk); /* bool where int */
        rpc_dec_init(&d, packed_decode(&p));
        size_t n;
        const msgpack_object *it;
        switch (cases[i].which) {
        case 0: rpc_dec_i64(&d, "k", 0); break;
        case 1: rpc_dec_u64(&d, "k", 0); break;
        case 2: rpc_dec_int(&d, "k", 0); break;
        case 3: rpc_dec_bool(&d, "k", false); break;
        case 4: rpc_dec_bytes(&d, "k", &n); break;
        default: rpc_dec_array(&d, "k", &it); break;
        }
        assert_int_equal(d.err, ERR_BADARGS);
        packed_end(&p);
    }
}

/* Integer range checks for each target type. */
static void test_codec_int_ranges(void **state)
{
    (void)state;
    struct packed p;
    packed_begin(&p);
    msgpack_pack_map(&p.pk, 4);
    rpc_pack_kv_u64(&p.pk, "huge", (uint64_t)INT64_MAX + 1);
    rpc_pack_kv_i64(&p.pk, "neg", -1);
    rpc_pack_kv_i64(&p.pk, "over", (int64_t)INT_MAX + 1);
    rpc_pack_kv_i64(&p.pk, "under", (int64_t)INT_MIN - 1);
    const msgpack_object *o = packed_decode(&p);
    struct rpc_dec d;

    rpc_dec_init(&d, o);
    assert_true(rpc_dec_u64(&d, "huge", 0) == (uint64_t)INT64_MAX + 1);
    assert_int_equal(d.err, 0);
    assert_int_equal(rpc_dec_i64(&d, "huge", 3), 3); /* > INT64_MAX */
    assert_int_equal(d.err, ERR_BADARGS);

    rpc_dec_init(&d, o);
    assert_int_equal(rpc_dec_u64(&d, "neg", 4), 4); /* negative for u64 */
    assert_int_equal(d.err, ERR_BADARGS);

    rpc_dec_init(&d, o);
    assert_int_equal(rpc_dec_i64(&d, "over", 0), (int64_t)INT_MAX + 1);
    assert_int_equal(rpc_dec_int(&d, "over", 5), 5);
    assert_int_equal(d.err, ERR_BADARGS);

    rpc_dec_init(&d, o);
    assert_int_equal(rpc_dec_int(&d, "under", 6), 6);
    assert_int_equal(d.err, ERR_BADARGS);

    rpc_dec_init(&d, o);
    assert_int_equal(rpc_dec_int(&d, "neg", 0), -1);
    assert_int_equal(d.err, 0);

    /* Plain-object readers. */
    int64_t i;
    uint64_t u;
    const char *bp;
    size_t bl;
    assert_int_equal(rpc_obj_i64(NULL, &i), ERR_BADARGS);
    assert_int_equal(rpc_obj_u64(NULL, &u), ERR_BADARGS);
    assert_int_equal(rpc_obj_bytes(NULL, &bp, &bl), ERR_BADARGS);
    assert_int_equal(rpc_obj_bytes(o, &bp, &bl), ERR_BADARGS); /* a map */
    packed_end(&p);
}

/* rpc_dec_init rejects non-maps; integers packed with every width decode
 * with their sign. */
static void test_codec_nonmap_and_widths(void **state)
{
    (void)state;
    struct rpc_dec d;
    rpc_dec_init(&d, NULL);
    assert_int_equal(d.err, ERR_BADARGS);
    assert_int_equal(rpc_dec_i64(&d, "x", 8), 8);

    struct packed p;
    packed_begin(&p);
    msgpack_pack_array(&p.pk, 0);
    rpc_dec_init(&d, packed_decode(&p));
    assert_int_equal(d.err, ERR_BADARGS);
    packed_end(&p);

    int64_t vals[] = {0, 1, 127, 128, 255, 256, 65535, 65536, -1, -32, -33,
                      -128, -129, -32768, -32769, INT32_MIN, INT64_MIN,
                      INT64_MAX, (int64_t)UINT32_MAX + 1};
    for (size_t k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
        packed_begin(&p);
        msgpack_pack_int64(&p.pk, vals[k]);
        int64_t got;
        assert_int_equal(rpc_obj_i64(packed_decode(&p), &got), 0);
        assert_true(got == vals[k]);
        packed_end(&p);
    }
    /* Explicit signed encodings of non-negative values are accepted too. */
    const uint8_t i8pos[] = {0xd0, 0x05};
    msgpack_zone z;
    msgpack_zone_init(&z, 256);
    msgpack_object o;
    assert_int_equal(rpc_wire_unpack(i8pos, 2, &z, &o), 0);
    uint64_t u;
    assert_int_equal(rpc_obj_u64(&o, &u), 0);
    assert_int_equal(u, 5);
    msgpack_zone_destroy(&z);
}

/* ------------------------------------------------------------------------
 * Scanner */

static int scan(const void *p, size_t n, const struct rpc_limits *lim,
                size_t *len)
{
    return rpc_scan_object(p, n, lim, len);
}

/* Every msgpack type: the scanner finds the exact end. */
static void test_scan_all_types(void **state)
{
    (void)state;
    struct packed p;
    packed_begin(&p);
    msgpack_pack_array(&p.pk, 20);
    msgpack_pack_nil(&p.pk);
    msgpack_pack_true(&p.pk);
    msgpack_pack_uint8(&p.pk, 200);
    msgpack_pack_uint16(&p.pk, 60000);
    msgpack_pack_uint32(&p.pk, 4000000000u);
    msgpack_pack_uint64(&p.pk, UINT64_MAX);
    msgpack_pack_int8(&p.pk, -100);
    msgpack_pack_int16(&p.pk, -30000);
    msgpack_pack_int32(&p.pk, -2000000000);
    msgpack_pack_int64(&p.pk, INT64_MIN);
    msgpack_pack_float(&p.pk, 1.5f);
    msgpack_pack_double(&p.pk, 2.5);
    char big[70000];
    memset(big, 'x', sizeof(big));
    rpc_pack_str(&p.pk, big, 40);    /* str8 */
    rpc_pack_str(&p.pk, big, 300);   /* str16 */
    rpc_pack_str(&p.pk, big, 70000); /* str32 */
    rpc_pack_bin(&p.pk, big, 70000); /* bin32 */
    msgpack_pack_ext(&p.pk, 1, 5);   /* fixext1 */
    msgpack_pack_ext_body(&p.pk, "a", 1);
    msgpack_pack_ext(&p.pk, 300, 5); /* ext16 */
    msgpack_pack_ext_body(&p.pk, big, 300);
    msgpack_pack_map(&p.pk, 17); /* map16 */
    for (int i = 0; i < 17; i++) {
        msgpack_pack_int(&p.pk, i);
        msgpack_pack_array(&p.pk, 0);
    }
    msgpack_pack_array(&p.pk, 16); /* array16 */
    for (int i = 0; i < 16; i++)
        msgpack_pack_int(&p.pk, -i);
    size_t len;
    assert_int_equal(scan(p.sb.data, p.sb.size, lim_1m(), &len), 1);
    assert_int_equal(len, p.sb.size);
    /* Every proper prefix is "need more", never an error. */
    for (size_t cut = 0; cut < p.sb.size; cut += (cut < 200 ? 1 : 997))
        assert_int_equal(scan(p.sb.data, cut, lim_1m(), &len), 0);
    /* Trailing bytes are not part of the object. */
    msgpack_pack_int(&p.pk, 1);
    assert_int_equal(scan(p.sb.data, p.sb.size, lim_1m(), &len), 1);
    assert_int_equal(len, p.sb.size - 1);
    /* And msgpack-c agrees. */
    msgpack_zone z;
    msgpack_zone_init(&z, 1024);
    msgpack_object o;
    assert_int_equal(rpc_wire_unpack((const uint8_t *)p.sb.data, len, &z, &o),
                     0);
    assert_int_equal(o.type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(o.via.array.size, 20);
    msgpack_zone_destroy(&z);
    packed_end(&p);
}

/* Declared sizes beyond the limits fail at once, before the bytes
 * exist; the reserved byte and deep nesting are protocol errors. */
static void test_scan_limits(void **state)
{
    (void)state;
    size_t len;
    struct rpc_limits lim;
    rpc_limits_for(&lim, 64u << 20);
    const uint8_t arr_huge[] = {0xdd, 0x10, 0x00, 0x00, 0x00};
    assert_int_equal(scan(arr_huge, sizeof(arr_huge), &lim, &len),
                     ERR_TOOBIG);
    const uint8_t map_huge[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(scan(map_huge, sizeof(map_huge), &lim, &len),
                     ERR_TOOBIG);
    const uint8_t str_huge[] = {0xdb, 0x7f, 0xff, 0xff, 0xff};
    assert_int_equal(scan(str_huge, sizeof(str_huge), &lim, &len),
                     ERR_TOOBIG);
    const uint8_t bin_huge[] = {0xc6, 0x05, 0x00, 0x00, 0x00};
    assert_int_equal(scan(bin_huge, sizeof(bin_huge), &lim, &len),
                     ERR_TOOBIG);
    const uint8_t ext_huge[] = {0xc9, 0x05, 0x00, 0x00, 0x00, 0x01};
    assert_int_equal(scan(ext_huge, sizeof(ext_huge), &lim, &len),
                     ERR_TOOBIG);
    const uint8_t c1[] = {0xc1};
    assert_int_equal(scan(c1, 1, &lim, &len), ERR_PROTO);
    const uint8_t c1_inside[] = {0x92, 0x01, 0xc1};
    assert_int_equal(scan(c1_inside, 3, &lim, &len), ERR_PROTO);

    /* Object count: an array of many 1-byte items within max_msg but
     * over max_objects. */
    struct rpc_limits small = {1 << 20, 100};
    uint8_t arr[3 + 200];
    arr[0] = 0xdc;
    arr[1] = 0;
    arr[2] = 200;
    memset(arr + 3, 0x01, 200);
    assert_int_equal(scan(arr, sizeof(arr), &small, &len), ERR_TOOBIG);
    arr[2] = 90;
    assert_int_equal(scan(arr, 3 + 90, &small, &len), 1);

    /* Pending objects count against max_msg: 10 items can't fit 8 bytes. */
    struct rpc_limits tiny = {8, 1000};
    const uint8_t ten[] = {0x9a};
    assert_int_equal(scan(ten, 1, &tiny, &len), ERR_TOOBIG);

    /* Nesting: RPC_MAX_NEST containers are fine, one more is not. */
    uint8_t deep[64];
    for (int i = 0; i < RPC_MAX_NEST; i++)
        deep[i] = 0x91;
    deep[RPC_MAX_NEST] = 0xc0;
    assert_int_equal(scan(deep, RPC_MAX_NEST + 1, &lim, &len), 1);
    deep[RPC_MAX_NEST] = 0x90; /* an empty container one level deeper */
    assert_int_equal(scan(deep, RPC_MAX_NEST + 1, &lim, &len), ERR_PROTO);
    for (int i = 0; i < 64; i++)
        deep[i] = 0x91;
    assert_int_equal(scan(deep, sizeof(deep), &lim, &len), ERR_PROTO);
    /* and msgpack-c decodes the deepest legal one */
    for (int i = 0; i < RPC_MAX_NEST; i++)
        deep[i] = 0x91;
    deep[RPC_MAX_NEST] = 0xc0;
    msgpack_zone z;
    msgpack_zone_init(&z, 1024);
    msgpack_object o;
    assert_int_equal(rpc_wire_unpack(deep, RPC_MAX_NEST + 1, &z, &o), 0);
    msgpack_zone_destroy(&z);
}

/* The scan resumes across chunks with the same result. */
static void test_scan_resumable(void **state)
{
    (void)state;
    struct packed p;
    packed_begin(&p);
    msgpack_pack_array(&p.pk, 3);
    msgpack_pack_map(&p.pk, 2);
    rpc_pack_kv_cstr(&p.pk, "k", "value");
    rpc_pack_kv_u64(&p.pk, "u", 1ull << 40);
    msgpack_pack_array(&p.pk, 2);
    msgpack_pack_array(&p.pk, 0);
    msgpack_pack_double(&p.pk, 1.0);
    rpc_pack_bin(&p.pk, "0123456789", 10);
    for (size_t step = 1; step <= 7; step++) {
        struct rpc_scan s;
        rpc_scan_reset(&s);
        size_t avail = 0, len = 0;
        int rc = 0;
        while (rc == 0) {
            avail = avail + step > p.sb.size ? p.sb.size : avail + step;
            rc = rpc_scan_run(&s, (const uint8_t *)p.sb.data, avail,
                              lim_1m(), &len);
            if (avail == p.sb.size)
                break;
        }
        assert_int_equal(rc, 1);
        assert_int_equal(len, p.sb.size);
    }
    packed_end(&p);
}

/* ------------------------------------------------------------------------
 * Envelopes */

static size_t build_request(msgpack_sbuffer *sb, uint32_t msgid,
                            const char *method)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_int(&pk, 0);
    msgpack_pack_uint32(&pk, msgid);
    rpc_pack_cstr(&pk, method);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 1);
    rpc_pack_kv_i64(&pk, "a", 1);
    return sb->size;
}

static int parse_buf(const void *p, size_t n, struct rpc_msg *m)
{
    return rpc_wire_parse(p, n, m);
}

/* Our own request/response encoders produce what the parser expects. */
static void test_wire_roundtrip(void **state)
{
    (void)state;
    uint8_t buf[128];
    size_t h = rpc_wire_req_header(buf, sizeof(buf), "Svc.Method", 10);
    assert_true(h > 0);
    rpc_wire_patch_msgid(buf, 0xdeadbeef);
    buf[h++] = 0x81;
    buf[h++] = 0xa1;
    buf[h++] = 'x';
    buf[h++] = 0x07;
    struct rpc_msg m;
    assert_int_equal(parse_buf(buf, h, &m), 0);
    assert_int_equal(m.type, RPC_MSG_REQUEST);
    assert_true(m.has_msgid);
    assert_true(m.msgid == 0xdeadbeef);
    assert_int_equal(m.method_len, 10);
    assert_memory_equal(m.method, "Svc.Method", 10);
    assert_int_equal(m.args_len, 4);

    /* Long method names use the wider str headers. */
    char longname[300];
    memset(longname, 'm', sizeof(longname));
    uint8_t big[400];
    h = rpc_wire_req_header(big, sizeof(big), longname, sizeof(longname));
    big[h++] = 0x80;
    assert_int_equal(parse_buf(big, h, &m), 0);
    assert_int_equal(m.method_len, 300);
    assert_int_equal(rpc_wire_req_header(big, 10, longname, 300), 0);

    /* Success and error responses. */
    uint8_t r[16];
    rpc_wire_resp_header(r, 77);
    r[8] = 0x80;
    assert_int_equal(parse_buf(r, 9, &m), 0);
    assert_int_equal(m.type, RPC_MSG_RESPONSE);
    assert_int_equal(m.msgid, 77);
    assert_int_equal(m.error, 0);
    assert_int_equal(m.result_len, 1);
    struct buf eb = BUF_INIT;
    rpc_wire_append_error(&eb, 78, ERR_WRONG_LEADER);
    assert_int_equal(parse_buf(eb.data, eb.len, &m), 0);
    assert_int_equal(m.msgid, 78);
    assert_int_equal(m.error, ERR_WRONG_LEADER);
    buf_free(&eb);
    rpc_wire_append_error(&eb, 79, -12345); /* not in the table */
    assert_int_equal(parse_buf(eb.data, eb.len, &m), 0);
    assert_int_equal(m.error, ERR_REMOTE);
    buf_free(&eb);

    /* A structured (non-string) error from another implementation. */
    const uint8_t structured[] = {0x94, 0x01, 0x05, 0x92, 0x01, 0xa1, 'e',
                                  0xc0};
    assert_int_equal(parse_buf(structured, sizeof(structured), &m), 0);
    assert_int_equal(m.error, ERR_REMOTE);
    assert_int_equal(m.result_len, 1);
    /* "OK" as an error string is still an error. */
    const uint8_t okerr[] = {0x94, 0x01, 0x05, 0xa2, 'O', 'K', 0xc0};
    assert_int_equal(parse_buf(okerr, sizeof(okerr), &m), 0);
    assert_int_equal(m.error, ERR_REMOTE);
}

/* Malformed envelopes: which ones keep a msgid (error reply) and which
 * do not (close). */
static void test_wire_malformed(void **state)
{
    (void)state;
    struct rpc_msg m;
    struct {
        const char *name;
        uint8_t bytes[24];
        size_t n;
        int rc;
        bool has_msgid;
    } cases[] = {
        {"not array", {0x05}, 1, ERR_PROTO, false},
        {"map", {0x80}, 1, ERR_PROTO, false},
        {"empty array", {0x90}, 1, ERR_PROTO, false},
        {"type str", {0x94, 0xa1, '0', 0x01, 0xa1, 'm', 0x90}, 7, ERR_PROTO,
         false},
        {"type 5", {0x94, 0x05, 0x01, 0xa1, 'm', 0x90}, 6, ERR_PROTO, false},
        {"msgid str", {0x94, 0x00, 0xa1, 'x', 0xa1, 'm', 0x90}, 7, ERR_PROTO,
         false},
        {"msgid neg", {0x94, 0x00, 0xff, 0xa1, 'm', 0x90}, 6, ERR_PROTO,
         false},
        {"msgid 2^32",
         {0x94, 0x00, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0, 0xa1, 'm', 0x90},
         14, ERR_PROTO, false},
        {"3 elements", {0x93, 0x00, 0x07, 0xa1, 'm'}, 5, ERR_PROTO, true},
        {"5 elements", {0x95, 0x00, 0x07, 0xa1, 'm', 0x90, 0x01}, 7,
         ERR_PROTO, true},
        {"method int", {0x94, 0x00, 0x07, 0x01, 0x90}, 5, ERR_PROTO, true},
        {"method bin", {0x94, 0x00, 0x07, 0xc4, 0x01, 'm', 0x90}, 7,
         ERR_PROTO, true},
        {"params map", {0x94, 0x00, 0x07, 0xa1, 'm', 0x80}, 6, ERR_PROTO,
         true},
        {"params [1]", {0x94, 0x00, 0x07, 0xa1, 'm', 0x91, 0x01}, 7,
         ERR_BADARGS, true},
        {"params [{},{}]", {0x94, 0x00, 0x07, 0xa1, 'm', 0x92, 0x80, 0x80},
         8, ERR_BADARGS, true},
        {"params [\"s\"]", {0x94, 0x00, 0x07, 0xa1, 'm', 0x91, 0xa1, 's'}, 8,
         ERR_BADARGS, true},
        {"notify 4 elements", {0x94, 0x02, 0xa1, 'm', 0x90, 0x90}, 6,
         ERR_PROTO, false},
        {"response 3 elements", {0x93, 0x01, 0x07, 0xc0}, 4, ERR_PROTO,
         true},
        {"truncated str", {0x94, 0x00, 0x07, 0xa5, 'm'}, 5, ERR_PROTO, true},
        {"truncated hdr", {0x94, 0x00, 0xce, 0x00}, 4, ERR_PROTO, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = parse_buf(cases[i].bytes, cases[i].n, &m);
        if (rc != cases[i].rc || m.has_msgid != cases[i].has_msgid)
            fail_msg("case '%s': rc %d has_msgid %d", cases[i].name, rc,
                     m.has_msgid);
        if (m.has_msgid)
            assert_int_equal(m.msgid, 7);
    }
    /* Accepted variants: [] params, [nil] params, notification. */
    const uint8_t empty_params[] = {0x94, 0x00, 0x07, 0xa1, 'm', 0x90};
    assert_int_equal(parse_buf(empty_params, sizeof(empty_params), &m), 0);
    assert_null(m.args);
    const uint8_t nil_params[] = {0x94, 0x00, 0x07, 0xa1, 'm', 0x91, 0xc0};
    assert_int_equal(parse_buf(nil_params, sizeof(nil_params), &m), 0);
    assert_int_equal(m.args_len, 1);
    const uint8_t notify[] = {0x93, 0x02, 0xa1, 'm', 0x91, 0x80};
    assert_int_equal(parse_buf(notify, sizeof(notify), &m), 0);
    assert_int_equal(m.type, RPC_MSG_NOTIFY);
    assert_false(m.has_msgid);
}

/* ------------------------------------------------------------------------
 * Receive buffer */

/* Messages fed in odd chunk sizes come out whole and in order;
 * detach works for small (copied) and big (stolen buffer) messages. */
static void test_rbuf_framing(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    size_t ends[40];
    int nmsg = 0;
    for (uint32_t id = 0; id < 30; id++)
        ends[nmsg++] = build_request(&sb, id, "S.M");
    /* one big message (> RPC_STEAL_MIN) in the middle of the stream */
    {
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 4);
        msgpack_pack_int(&pk, 0);
        msgpack_pack_uint32(&pk, 1000);
        rpc_pack_cstr(&pk, "S.Big");
        msgpack_pack_array(&pk, 1);
        msgpack_pack_map(&pk, 1);
        static char blob[200000];
        memset(blob, 'b', sizeof(blob));
        rpc_pack_kv_bin(&pk, "b", blob, sizeof(blob));
        ends[nmsg++] = sb.size;
    }
    for (uint32_t id = 30; id < 35; id++)
        ends[nmsg++] = build_request(&sb, id, "S.M");

    for (size_t chunk = 1; chunk < 100000; chunk = chunk * 7 + 3) {
        struct rpc_rbuf rb;
        rpc_rbuf_init(&rb, lim_1m());
        size_t fed = 0;
        int got = 0;
        size_t prev_end = 0;
        while (got < nmsg) {
            const uint8_t *msg;
            size_t len;
            int rc = rpc_rbuf_next(&rb, &msg, &len);
            assert_true(rc >= 0);
            if (rc == 0) {
                assert_true(fed < sb.size);
                size_t avail;
                uint8_t *dst = rpc_rbuf_reserve(&rb, &avail);
                assert_true(avail >= RPC_RBUF_MIN_FREE);
                size_t n = sb.size - fed < chunk ? sb.size - fed : chunk;
                if (n > avail)
                    n = avail;
                memcpy(dst, sb.data + fed, n);
                rpc_rbuf_commit(&rb, n);
                fed += n;
                continue;
            }
            assert_int_equal(len, ends[got] - prev_end);
            assert_memory_equal(msg, sb.data + prev_end, len);
            struct rpc_msg m;
            assert_int_equal(rpc_wire_parse(msg, len, &m), 0);
            if (got % 2) {
                uint8_t *base;
                const uint8_t *dm;
                rpc_rbuf_detach(&rb, len, &base, &dm);
                assert_memory_equal(dm, sb.data + prev_end, len);
                free(base);
            } else {
                rpc_rbuf_consume(&rb, len);
            }
            prev_end = ends[got];
            got++;
        }
        assert_int_equal(fed, sb.size);
        assert_int_equal(rpc_rbuf_buffered(&rb), 0);
        rpc_rbuf_free(&rb);
    }
    msgpack_sbuffer_destroy(&sb);
}

/* A frame error is reported once the offending byte arrives; a message
 * over max_msg is refused from its header, without buffering it. */
static void test_rbuf_errors(void **state)
{
    (void)state;
    struct rpc_limits lim;
    rpc_limits_for(&lim, 1024);
    struct rpc_rbuf rb;
    rpc_rbuf_init(&rb, &lim);
    size_t avail;
    uint8_t *p = rpc_rbuf_reserve(&rb, &avail);
    const uint8_t hdr[] = {0x94, 0x00, 0x01, 0xa1, 'm', 0x91, 0xc6,
                           0x00, 0x00, 0x08, 0x00}; /* bin32 of 2048 */
    memcpy(p, hdr, sizeof(hdr));
    rpc_rbuf_commit(&rb, sizeof(hdr));
    const uint8_t *msg;
    size_t len;
    assert_int_equal(rpc_rbuf_next(&rb, &msg, &len), ERR_TOOBIG);
    rpc_rbuf_free(&rb);

    rpc_rbuf_init(&rb, &lim);
    p = rpc_rbuf_reserve(&rb, &avail);
    const uint8_t part[] = {0x94, 0x00, 0x01};
    memcpy(p, part, sizeof(part));
    rpc_rbuf_commit(&rb, sizeof(part));
    assert_int_equal(rpc_rbuf_next(&rb, &msg, &len), 0);
    p = rpc_rbuf_reserve(&rb, &avail);
    p[0] = 0xc1;
    rpc_rbuf_commit(&rb, 1);
    assert_int_equal(rpc_rbuf_next(&rb, &msg, &len), ERR_PROTO);
    rpc_rbuf_free(&rb);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_roundtrip),
        cmocka_unit_test(test_codec_defaults),
        cmocka_unit_test(test_codec_sticky_error),
        cmocka_unit_test(test_codec_int_ranges),
        cmocka_unit_test(test_codec_nonmap_and_widths),
        cmocka_unit_test(test_scan_all_types),
        cmocka_unit_test(test_scan_limits),
        cmocka_unit_test(test_scan_resumable),
        cmocka_unit_test(test_wire_roundtrip),
        cmocka_unit_test(test_wire_malformed),
        cmocka_unit_test(test_rbuf_framing),
        cmocka_unit_test(test_rbuf_errors),
    };
    return cmocka_run_group_tests_name("rpc_codec", tests, NULL, NULL);
}
