/* history.c - thread-safe operation log that KV test clients append to
 * while they run; the checker reads it once they have stopped. */
#include "labs/porcupine/porcupine.h"

#include <pthread.h>
#include <stdlib.h>

#include "common/buf.h"
#include "common/clock.h"

struct porcupine_history {
    pthread_mutex_t mu;
    struct porcupine_op *ops;
    size_t n;
    size_t cap;
    void (*free_input)(void *);
    void (*free_output)(void *);
};

int64_t porcupine_now_ns(void)
{
    return (int64_t)clock_now_ns();
}

struct porcupine_history *porcupine_history_new(void (*free_input)(void *),
                                                void (*free_output)(void *))
{
    struct porcupine_history *h = xcalloc(1, sizeof(*h));
    pthread_mutex_init(&h->mu, NULL);
    h->free_input = free_input;
    h->free_output = free_output;
    return h;
}

void porcupine_history_free(struct porcupine_history *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++) {
        if (h->free_input)
            h->free_input((void *)h->ops[i].input);
        if (h->free_output && h->ops[i].output)
            h->free_output((void *)h->ops[i].output);
    }
    free(h->ops);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

static size_t append_locked(struct porcupine_history *h, int client_id,
                            void *input, void *output, int64_t call_ns,
                            int64_t return_ns)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 256;
        h->ops = xrealloc(h->ops, h->cap * sizeof(*h->ops));
    }
    h->ops[h->n] = (struct porcupine_op){client_id, input, output, call_ns,
                                         return_ns};
    return h->n++;
}

size_t porcupine_history_add(struct porcupine_history *h, int client_id,
                             void *input, void *output, int64_t call_ns,
                             int64_t return_ns)
{
    pthread_mutex_lock(&h->mu);
    size_t id = append_locked(h, client_id, input, output, call_ns, return_ns);
    pthread_mutex_unlock(&h->mu);
    return id;
}

size_t porcupine_history_begin(struct porcupine_history *h, int client_id,
                               void *input)
{
    /* Read the clock before recording: the op itself starts only after
     * this returns, so the recorded call time is never late. */
    int64_t now = porcupine_now_ns();
    pthread_mutex_lock(&h->mu);
    size_t id = append_locked(h, client_id, input, NULL, now, PORCUPINE_NEVER);
    pthread_mutex_unlock(&h->mu);
    return id;
}

void porcupine_history_end(struct porcupine_history *h, size_t id,
                           void *output)
{
    int64_t now = porcupine_now_ns();
    pthread_mutex_lock(&h->mu);
    if (id >= h->n)
        abort();
    struct porcupine_op *op = &h->ops[id];
    if (h->free_output && op->output)
        h->free_output((void *)op->output);
    op->output = output;
    op->return_ns = now;
    pthread_mutex_unlock(&h->mu);
}

const struct porcupine_op *porcupine_history_ops(struct porcupine_history *h,
                                                 size_t *n)
{
    pthread_mutex_lock(&h->mu);
    const struct porcupine_op *ops = h->ops;
    *n = h->n;
    pthread_mutex_unlock(&h->mu);
    return ops;
}
