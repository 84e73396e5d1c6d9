/* candor's CUPTI library: the C interface of libcandor_cupti.so.
 *
 * The library traces a CUDA process with CUPTI activity records, aggregates them into
 * per-interval candor.v1.KernelSummary messages and ships them to candor over gRPC. Load it
 * either by injection, with no change to the server:
 *
 *     CUDA_INJECTION64_PATH=/path/to/libcandor_cupti.so  <server command>
 *
 * (the driver calls InitializeInjection while CUDA initialises), or by linking it into the
 * server and calling candor_cupti_start() before the first CUDA call. Settings come from the
 * environment (CANDOR_CUPTI_* variables; see cuda-profiler/profiler_options.h).
 *
 * The library never fails or blocks the host process: when CUPTI cannot be used (no driver,
 * another profiler holds CUPTI, an older CUPTI than the library was built for, bad settings)
 * it stays passive, and candor_cupti_status() / candor_cupti_status_message() say why.
 *
 * To attribute GPU work to requests, a server thread brackets the launches it makes for a
 * request with candor_cupti_push_request(id) … candor_cupti_pop(); the ids then appear in the
 * KernelSummary.request_ids of the intervals in which that work ran.
 *
 * Thread safety: every function may be called from any thread. Push and pop act on the
 * calling thread's stack of ids (CUPTI's external correlation stack is per thread).
 */

#ifndef CANDOR_CUDA_PROFILER_CANDOR_CUPTI_H_
#define CANDOR_CUDA_PROFILER_CANDOR_CUPTI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Library states, from candor_cupti_status(). */
#define CANDOR_CUPTI_ACTIVE 1         /* Tracing and shipping. */
#define CANDOR_CUPTI_NOT_STARTED 0    /* Not started yet, or shut down. */
#define CANDOR_CUPTI_UNAVAILABLE (-1) /* CUPTI or the driver cannot trace in this process. */
#define CANDOR_CUPTI_PASSIVE (-2)     /* Another CUPTI subscriber (Nsight, a profiler) holds it. */
#define CANDOR_CUPTI_BAD_CONFIG (-3)  /* A CANDOR_CUPTI_* variable is invalid. */
#define CANDOR_CUPTI_VERSION_MISMATCH (-4) /* The runtime CUPTI is older than the library's. */
#define CANDOR_CUPTI_DISABLED (-5)         /* CANDOR_CUPTI_DISABLE=1. */

/* Results of the calls below. */
#define CANDOR_CUPTI_OK 0
#define CANDOR_CUPTI_ERR_INVALID (-22) /* Bad argument (request id empty, too long, not UTF-8). */
#define CANDOR_CUPTI_ERR_NOT_ACTIVE (-19) /* The library is not tracing. */
#define CANDOR_CUPTI_ERR_CUPTI (-5)       /* CUPTI refused the call. */

/* Entry point the CUDA driver calls for CUDA_INJECTION64_PATH. Starts the library and
 * returns 1 whatever happens, so the host process always continues. */
int InitializeInjection(void);

/* Starts tracing (idempotent while active). Returns the resulting state
 * (CANDOR_CUPTI_ACTIVE or a negative state above). */
int candor_cupti_start(void);

/* The current state (CANDOR_CUPTI_*). */
int candor_cupti_status(void);

/* Copies a human-readable explanation of the state, NUL-terminated and truncated to fit, into
 * `buf` of `len` bytes (nothing is written when len is 0). Returns the full message length. */
size_t candor_cupti_status_message(char* buf, size_t len);

/* Tags the calling thread's subsequent CUDA work with `request_id` (1–128 bytes of UTF-8
 * without control characters) until the matching candor_cupti_pop(). */
int candor_cupti_push_request(const char* request_id);

/* Like candor_cupti_push_request with a numeric id (< 2^63), reported in decimal. */
int candor_cupti_push_external_id(uint64_t id);

/* Ends the innermost tag pushed by the calling thread. */
int candor_cupti_pop(void);

/* Flushes completed activity buffers and queues the summaries of every interval that is due
 * for shipping. Never waits for the GPU or the network. */
int candor_cupti_flush(void);

/* Stops tracing: flushes everything, ships the last summaries (waiting at most 2 s for candor)
 * and releases CUPTI. Idempotent; runs automatically at process exit. */
int candor_cupti_shutdown(void);

/* Counters of the running session, or of the last one after shutdown. Set struct_size =
 * sizeof(candor_cupti_stats) before the call; fields beyond struct_size are left untouched (newer
 * library, older caller). */
typedef struct candor_cupti_stats {
  uint32_t struct_size;
  uint32_t reserved;
  uint64_t records_decoded;  /* Activity records decoded. */
  uint64_t kernels;          /* Kernel records aggregated. */
  uint64_t dropped_by_cupti; /* Records CUPTI reported dropped. */
  uint64_t buffers_refused;  /* Buffer requests refused at the memory cap. */
  uint64_t records_lost;     /* Records counted as dropped in summaries (all causes). */
  uint64_t summaries_produced;
  uint64_t summaries_sent;    /* Acknowledged by candor. */
  uint64_t summaries_dropped; /* Queue overflow, refused batches, unsent at shutdown. */
  uint64_t peak_buffer_bytes; /* Highest activity-buffer memory outstanding. */
} candor_cupti_stats;

/* Fills `*out` (see struct_size). Returns CANDOR_CUPTI_ERR_INVALID for a null pointer or a
 * struct_size below 8. */
int candor_cupti_get_stats(candor_cupti_stats* out);

#ifdef __cplusplus
}
#endif

#endif /* CANDOR_CUDA_PROFILER_CANDOR_CUPTI_H_ */
