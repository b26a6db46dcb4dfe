// thread_pool.c: MoeKit's worker pool. Helper threads spin briefly between jobs (a network's next layer follows within
// microseconds) and then sleep; items are handed out from a shared counter, so a slow or descheduled helper takes fewer.
#include "MoeNativeShim.h"
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#define MOE_POOL_MAX 64
// A helper spins this long for the next job before sleeping on the condition variable.
#define MOE_POOL_SPIN_NS 200000L

static struct {
  pthread_mutex_t lock;        // guards sleeping helpers and the condition
  pthread_cond_t wake;
  pthread_mutex_t busy;        // held by the thread running a job (a second concurrent caller runs serially)
  int helpers;                 // helper threads started (ids 1…helpers)
  long generation;             // incremented for every job
  long sleepers;               // helpers waiting on `wake`
  long active;                 // helpers inside the current job
  long open;                   // the generation of the job helpers may join, 0 once its items are all taken
  moe_pool_task fn;
  void *ctx;
  long count, next;
  int workers;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_MUTEX_INITIALIZER};

static __thread int in_pool_task = 0;

static long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/// Takes items of the current job until none are left.
static void drain(int id) {
  moe_pool_task fn = __atomic_load_n(&pool.fn, __ATOMIC_SEQ_CST);
  void *ctx = __atomic_load_n(&pool.ctx, __ATOMIC_SEQ_CST);
  long count = __atomic_load_n(&pool.count, __ATOMIC_SEQ_CST);
  for (;;) {
    long i = __atomic_fetch_add(&pool.next, 1, __ATOMIC_SEQ_CST);
    if (i >= count) break;
    fn(ctx, i, id);
  }
}

static void *helper_main(void *arg) {
  int id = (int)(intptr_t)arg;
  in_pool_task = 1;
  long seen = __atomic_load_n(&pool.generation, __ATOMIC_SEQ_CST);
  for (;;) {
    long start = now_ns(), spins = 0;
    long gen;
    while ((gen = __atomic_load_n(&pool.generation, __ATOMIC_SEQ_CST)) == seen) {
      cpu_relax();
      if ((++spins & 255) == 0 && now_ns() - start > MOE_POOL_SPIN_NS) {
        pthread_mutex_lock(&pool.lock);
        pool.sleepers++;
        while ((gen = __atomic_load_n(&pool.generation, __ATOMIC_SEQ_CST)) == seen) {
          pthread_cond_wait(&pool.wake, &pool.lock);
        }
        pool.sleepers--;
        pthread_mutex_unlock(&pool.lock);
        break;
      }
    }
    seen = gen;
    if (id >= __atomic_load_n(&pool.workers, __ATOMIC_SEQ_CST)) continue;
    __atomic_fetch_add(&pool.active, 1, __ATOMIC_SEQ_CST);
    // Joined too late (the job is closed, or a newer one is being set up): leave; the next round sees the newer job.
    if (__atomic_load_n(&pool.open, __ATOMIC_SEQ_CST) == seen) drain(id);
    __atomic_fetch_sub(&pool.active, 1, __ATOMIC_SEQ_CST);
  }
  return NULL;
}

void moe_pool_run(int workers, long count, moe_pool_task fn, void *ctx) {
  if (workers > MOE_POOL_MAX) workers = MOE_POOL_MAX;
  if (workers > count) workers = (int)count;
  if (workers <= 1 || in_pool_task || pthread_mutex_trylock(&pool.busy) != 0) {
    for (long i = 0; i < count; i++) fn(ctx, i, 0);
    return;
  }
  while (pool.helpers < workers - 1) {
    pthread_t t;
    int id = pool.helpers + 1;
    if (pthread_create(&t, NULL, helper_main, (void *)(intptr_t)id) != 0) break;
    pthread_detach(t);
    pool.helpers = id;
  }
  if (workers > pool.helpers + 1) workers = pool.helpers + 1;
  // The previous job is closed and no helper is inside it: its fields may change.
  __atomic_store_n(&pool.fn, fn, __ATOMIC_SEQ_CST);
  __atomic_store_n(&pool.ctx, ctx, __ATOMIC_SEQ_CST);
  __atomic_store_n(&pool.count, count, __ATOMIC_SEQ_CST);
  __atomic_store_n(&pool.next, 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&pool.workers, workers, __ATOMIC_SEQ_CST);
  pthread_mutex_lock(&pool.lock);
  long gen = __atomic_load_n(&pool.generation, __ATOMIC_SEQ_CST) + 1;
  __atomic_store_n(&pool.open, gen, __ATOMIC_SEQ_CST);
  __atomic_store_n(&pool.generation, gen, __ATOMIC_SEQ_CST);
  if (pool.sleepers > 0) pthread_cond_broadcast(&pool.wake);
  pthread_mutex_unlock(&pool.lock);
  in_pool_task = 1;
  drain(0);
  in_pool_task = 0;
  // Every item is taken: close the job, then wait for the helpers still finishing theirs.
  __atomic_store_n(&pool.open, 0, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&pool.active, __ATOMIC_SEQ_CST) != 0) cpu_relax();
  pthread_mutex_unlock(&pool.busy);
}
