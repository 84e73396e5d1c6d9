// candor_cuda_workload: a launch-heavy CUDA program for measuring libcandor_cupti.so.
//
//   candor_cuda_workload [--mix short|streams|graphs|inference|all] [--scale N] [--tag]
//
// Phases (each timed on the GPU timeline with CUDA events, so no host clock is read):
//   short      N×20000 launches of a near-empty kernel on one stream: the worst case for
//              per-launch tracing cost.
//   streams    N×20000 small kernels round-robin over 4 streams.
//   graphs     a captured graph of 32 kernel nodes launched N×500 times.
//   inference  N×200 decode-like steps: a small host-to-device copy, 8 layers of
//              (tiled matmul, RMS norm, attention-like reduction, SiLU), a device-to-host
//              copy and a stream synchronisation: kernels of tens of microseconds.
// With --tag and libcandor_cupti.so injected (CUDA_INJECTION64_PATH), each inference step is
// tagged with the request id "step-<n>" through the library's C interface.
// Prints one JSON object: the device, every kernel name with its launch count (graph nodes
// counted per graph launch), total kernels, graph launches, and milliseconds per phase.
// Exit status 77 when there is no usable CUDA device (the message says why).

#include <cuda_runtime.h>
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

#define CHECK(call)                                                                  \
  do {                                                                               \
    cudaError_t err_ = (call);                                                       \
    if (err_ != cudaSuccess) {                                                       \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #call,              \
                   cudaGetErrorString(err_));                                        \
      std::exit(1);                                                                  \
    }                                                                                \
  } while (0)

std::map<std::string, long long> launches;
long long graph_launches = 0;

// candor_cupti_push_request / candor_cupti_pop from the injected library, when tagging.
int (*push_request)(const char*) = nullptr;
int (*pop_request)() = nullptr;
long long tagged_steps = 0;

void BindTagging() {
  const char* path = std::getenv("CUDA_INJECTION64_PATH");
  if (path == nullptr) return;
  void* lib = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
  if (lib == nullptr) return;
  push_request = reinterpret_cast<int (*)(const char*)>(dlsym(lib, "candor_cupti_push_request"));
  pop_request = reinterpret_cast<int (*)()>(dlsym(lib, "candor_cupti_pop"));
}

}  // namespace

extern "C" __global__ void candor_tiny(float* out) {
  if (threadIdx.x == 0 && blockIdx.x == 0) out[0] += 1.0f;
}

extern "C" __global__ void candor_small(float* data, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) data[i] = data[i] * 0.5f + 1.0f;
}

// 64×64 tiles of a 256×256 single-precision matmul: tens of microseconds.
extern "C" __global__ void candor_matmul(const float* a, const float* b, float* c, int n) {
  __shared__ float ta[16][16];
  __shared__ float tb[16][16];
  const int row = blockIdx.y * 16 + threadIdx.y;
  const int col = blockIdx.x * 16 + threadIdx.x;
  float acc = 0.0f;
  for (int t = 0; t < n; t += 16) {
    ta[threadIdx.y][threadIdx.x] = a[row * n + t + threadIdx.x];
    tb[threadIdx.y][threadIdx.x] = b[(t + threadIdx.y) * n + col];
    __syncthreads();
    for (int k = 0; k < 16; ++k) acc += ta[threadIdx.y][k] * tb[k][threadIdx.x];
    __syncthreads();
  }
  c[row * n + col] = acc;
}

extern "C" __global__ void candor_rms_norm(float* x, int n) {
  __shared__ float partial[256];
  float s = 0.0f;
  for (int i = threadIdx.x; i < n; i += blockDim.x) s += x[blockIdx.x * n + i] * x[blockIdx.x * n + i];
  partial[threadIdx.x] = s;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  const float scale = rsqrtf(partial[0] / n + 1e-6f);
  for (int i = threadIdx.x; i < n; i += blockDim.x) x[blockIdx.x * n + i] *= scale;
}

extern "C" __global__ void candor_attention(const float* q, const float* k, float* out, int n) {
  const int row = blockIdx.x;
  float m = -1e30f;
  for (int j = threadIdx.x; j < n; j += blockDim.x) m = fmaxf(m, q[row * n + j] * k[j]);
  out[row * blockDim.x + threadIdx.x] = m;
}

extern "C" __global__ void candor_silu(float* x, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) x[i] = x[i] / (1.0f + __expf(-x[i]));
}

namespace {

struct Timer {
  cudaEvent_t start, stop;
  explicit Timer(cudaStream_t s) {
    CHECK(cudaEventCreate(&start));
    CHECK(cudaEventCreate(&stop));
    CHECK(cudaEventRecord(start, s));
  }
  float Stop(cudaStream_t s) {
    CHECK(cudaEventRecord(stop, s));
    CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    CHECK(cudaEventElapsedTime(&ms, start, stop));
    CHECK(cudaEventDestroy(start));
    CHECK(cudaEventDestroy(stop));
    return ms;
  }
};

float Short(int scale, float* buf) {
  cudaStream_t s;
  CHECK(cudaStreamCreate(&s));
  Timer t(s);
  const int n = scale * 20000;
  for (int i = 0; i < n; ++i) candor_tiny<<<1, 32, 0, s>>>(buf);
  CHECK(cudaGetLastError());
  const float ms = t.Stop(s);
  launches["candor_tiny"] += n;
  CHECK(cudaStreamDestroy(s));
  return ms;
}

float Streams(int scale, float* buf) {
  cudaStream_t main_stream;
  CHECK(cudaStreamCreate(&main_stream));
  cudaStream_t streams[4];
  for (auto& s : streams) CHECK(cudaStreamCreate(&s));
  Timer t(main_stream);
  cudaEvent_t go;
  CHECK(cudaEventCreateWithFlags(&go, cudaEventDisableTiming));
  CHECK(cudaEventRecord(go, main_stream));
  for (auto& s : streams) CHECK(cudaStreamWaitEvent(s, go, 0));
  const int n = scale * 20000;
  for (int i = 0; i < n; ++i) candor_small<<<64, 128, 0, streams[i % 4]>>>(buf + (i % 4) * 8192, 8192);
  CHECK(cudaGetLastError());
  for (auto& s : streams) {
    cudaEvent_t done;
    CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
    CHECK(cudaEventRecord(done, s));
    CHECK(cudaStreamWaitEvent(main_stream, done, 0));
    CHECK(cudaEventDestroy(done));
  }
  const float ms = t.Stop(main_stream);
  launches["candor_small"] += n;
  for (auto& s : streams) CHECK(cudaStreamDestroy(s));
  CHECK(cudaEventDestroy(go));
  CHECK(cudaStreamDestroy(main_stream));
  return ms;
}

float Graphs(int scale, float* buf) {
  cudaStream_t s;
  CHECK(cudaStreamCreate(&s));
  cudaGraph_t graph;
  CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  for (int i = 0; i < 32; ++i) {
    if (i % 2 == 0) {
      candor_small<<<64, 128, 0, s>>>(buf, 8192);
    } else {
      candor_silu<<<64, 128, 0, s>>>(buf + 8192, 8192);
    }
  }
  CHECK(cudaStreamEndCapture(s, &graph));
  cudaGraphExec_t exec;
  CHECK(cudaGraphInstantiate(&exec, graph, 0));
  Timer t(s);
  const int n = scale * 500;
  for (int i = 0; i < n; ++i) CHECK(cudaGraphLaunch(exec, s));
  const float ms = t.Stop(s);
  launches["candor_small"] += 16LL * n;
  launches["candor_silu"] += 16LL * n;
  graph_launches += n;
  CHECK(cudaGraphExecDestroy(exec));
  CHECK(cudaGraphDestroy(graph));
  CHECK(cudaStreamDestroy(s));
  return ms;
}

float Inference(int scale) {
  constexpr int kN = 256;
  constexpr int kLayers = 8;
  float *a, *b, *c, *x, *q, *kk, *att;
  CHECK(cudaMalloc(&a, kN * kN * sizeof(float)));
  CHECK(cudaMalloc(&b, kN * kN * sizeof(float)));
  CHECK(cudaMalloc(&c, kN * kN * sizeof(float)));
  CHECK(cudaMalloc(&x, kN * kN * sizeof(float)));
  CHECK(cudaMalloc(&q, kN * kN * sizeof(float)));
  CHECK(cudaMalloc(&kk, kN * sizeof(float)));
  CHECK(cudaMalloc(&att, kN * 128 * sizeof(float)));
  CHECK(cudaMemset(a, 0, kN * kN * sizeof(float)));
  CHECK(cudaMemset(b, 0, kN * kN * sizeof(float)));
  CHECK(cudaMemset(q, 0, kN * kN * sizeof(float)));
  CHECK(cudaMemset(kk, 0, kN * sizeof(float)));
  std::vector<float> host_in(kN, 1.0f);
  std::vector<float> host_out(kN, 0.0f);
  cudaStream_t s;
  CHECK(cudaStreamCreate(&s));
  Timer t(s);
  const int steps = scale * 200;
  long long tagged = 0;
  for (int step = 0; step < steps; ++step) {
    if (push_request != nullptr) {
      const std::string id = "step-" + std::to_string(step);
      tagged += push_request(id.c_str()) == 0 ? 1 : 0;
    }
    CHECK(cudaMemcpyAsync(x, host_in.data(), kN * sizeof(float), cudaMemcpyHostToDevice, s));
    for (int l = 0; l < kLayers; ++l) {
      candor_matmul<<<dim3(kN / 16, kN / 16), dim3(16, 16), 0, s>>>(a, b, c, kN);
      candor_rms_norm<<<kN, 256, 0, s>>>(c, kN);
      candor_attention<<<kN, 128, 0, s>>>(q, kk, att, kN);
      candor_silu<<<kN * kN / 256, 256, 0, s>>>(x, kN * kN);
    }
    CHECK(cudaMemcpyAsync(host_out.data(), x, kN * sizeof(float), cudaMemcpyDeviceToHost, s));
    CHECK(cudaStreamSynchronize(s));
    if (push_request != nullptr) pop_request();
  }
  CHECK(cudaGetLastError());
  const float ms = t.Stop(s);
  tagged_steps += tagged;
  launches["candor_matmul"] += static_cast<long long>(steps) * kLayers;
  launches["candor_rms_norm"] += static_cast<long long>(steps) * kLayers;
  launches["candor_attention"] += static_cast<long long>(steps) * kLayers;
  launches["candor_silu"] += static_cast<long long>(steps) * kLayers;
  for (float* p : {a, b, c, x, q, kk, att}) CHECK(cudaFree(p));
  CHECK(cudaStreamDestroy(s));
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mix = "all";
  int scale = 1;
  bool tag = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--tag") == 0) {
      tag = true;
    } else if (i + 1 < argc && std::strcmp(argv[i], "--mix") == 0) {
      mix = argv[++i];
    } else if (i + 1 < argc && std::strcmp(argv[i], "--scale") == 0) {
      scale = std::atoi(argv[++i]);
    }
  }
  if (scale < 1) scale = 1;
  int devices = 0;
  const cudaError_t probe = cudaGetDeviceCount(&devices);
  if (probe != cudaSuccess || devices == 0) {
    std::fprintf(stderr, "no usable CUDA device: %s\n",
                 probe != cudaSuccess ? cudaGetErrorString(probe) : "0 devices");
    return 77;
  }
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  if (tag) BindTagging();
  float* buf;
  CHECK(cudaMalloc(&buf, 4 * 8192 * 2 * sizeof(float)));
  CHECK(cudaMemset(buf, 0, 4 * 8192 * 2 * sizeof(float)));
  std::map<std::string, float> phase_ms;
  const bool all = mix == "all";
  if (all || mix == "short") phase_ms["short"] = Short(scale, buf);
  if (all || mix == "streams") phase_ms["streams"] = Streams(scale, buf);
  if (all || mix == "graphs") phase_ms["graphs"] = Graphs(scale, buf);
  if (all || mix == "inference") phase_ms["inference"] = Inference(scale);
  CHECK(cudaDeviceSynchronize());
  CHECK(cudaFree(buf));

  long long total = 0;
  std::printf("{\"device\": \"%s\", \"launches\": {", prop.name);
  const char* sep = "";
  for (const auto& [name, n] : launches) {
    std::printf("%s\"%s\": %lld", sep, name.c_str(), n);
    sep = ", ";
    total += n;
  }
  std::printf("}, \"kernels_total\": %lld, \"graph_launches\": %lld, \"tagged_steps\": %lld, "
              "\"phase_ms\": {",
              total, graph_launches, tagged_steps);
  sep = "";
  for (const auto& [name, ms] : phase_ms) {
    std::printf("%s\"%s\": %.3f", sep, name.c_str(), ms);
    sep = ", ";
  }
  std::printf("}}\n");
  return 0;
}
