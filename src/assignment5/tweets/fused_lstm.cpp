// One-layer LSTM over right-padded batches of one-hot codes, forward and backward, on the CPU.
//
// Why: PyTorch's CPU LSTM (oneDNN) multiplies the one-hot inputs by W_ih as dense matrices and,
// at batch 32 and hidden 128, ran at about half this kernel's speed here. In this kernel the input
// projection of code v is row v of a table (W_ih^T plus biases), and the hidden units are split
// between threads: each owns H/P units, computes their four gates (a B x H by H x 4H/P product
// plus the cell update), and the threads meet once per time step. Backward mirrors it and adds
// each step's gate gradients into the table rows it read. The maths is the standard LSTM
// (PyTorch's gate order i, f, g, o); the recurrent weight's gradient is one large product left to
// ATen (fused_lstm.py).

#include <torch/extension.h>
#include <ATen/Parallel.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#ifdef __AVX512F__
#include <immintrin.h>
#endif

namespace {

// ---------------------------------------------------------------- vector helpers
#ifdef __AVX512F__
using vec = __m512;
constexpr int kLanes = 16;
inline vec vload(const float* p) { return _mm512_loadu_ps(p); }
inline void vstore(float* p, vec v) { _mm512_storeu_ps(p, v); }
inline vec vset(float x) { return _mm512_set1_ps(x); }
// +, -, *, / on __m512 are GCC/Clang vector extensions.
inline void cpu_relax() { _mm_pause(); }

// exp to about 1 ulp (Cephes polynomial; 2^n applied with scalef).
inline vec vexp(vec x) {
  x = _mm512_min_ps(_mm512_max_ps(x, vset(-87.3f)), vset(88.7f));
  vec n = _mm512_roundscale_ps(x * vset(1.44269504088896341f), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  vec r = _mm512_fnmadd_ps(n, vset(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, vset(-2.12194440e-4f), r);
  vec p = vset(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, vset(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, vset(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, vset(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, vset(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, vset(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, r * r, r + vset(1.0f));
  return _mm512_scalef_ps(p, n);
}
#else
using vec = float;
constexpr int kLanes = 1;
inline vec vload(const float* p) { return *p; }
inline void vstore(float* p, vec v) { *p = v; }
inline vec vset(float x) { return x; }
inline vec vexp(vec x) { return std::exp(x); }
inline void cpu_relax() {}
#endif

inline vec vsigmoid(vec x) { return vset(1.0f) / (vset(1.0f) + vexp(vset(0.0f) - x)); }
inline vec vtanh(vec x) { return vset(1.0f) - vset(2.0f) / (vexp(x + x) + vset(1.0f)); }

// ---------------------------------------------------------------- C = A @ Bm
// A is M x K (row stride lda), Bm is K x N (row stride ldb), C is M x N (row stride ldc), written
// not accumulated. Operands are fp32, or bf16 with fp32 accumulation (like bf16 autocast), where
// the CPU has AVX512-BF16: then Bm holds pairs of rows interleaved ((K/2) x N x 2, see pack) and
// A's rows are bf16, so one instruction does 16 columns x 2 products.
using bf16 = uint16_t;

struct Fp32 {
  using T = float;
  static constexpr int kRows = 1;  // rows of Bm per step of the inner loop
#ifdef __AVX512F__
  static vec b_row(const float* B, int64_t k, int64_t ldb, int v) { return vload(B + k * ldb + v * kLanes); }
  static vec a_value(const float* A, int64_t k) { return vset(A[k]); }
  static vec madd(vec acc, vec a, vec b) { return _mm512_fmadd_ps(a, b, acc); }
#endif
};

#ifdef __AVX512BF16__
constexpr bool kHasBf16 = true;
struct Bf16 {
  using T = bf16;
  static constexpr int kRows = 2;
  static __m512bh b_row(const bf16* B, int64_t k, int64_t ldb, int v) {
    return (__m512bh)_mm512_loadu_si512(B + k * ldb + v * 2 * kLanes);  // k even: row pair k/2
  }
  static __m512bh a_value(const bf16* A, int64_t k) {
    uint32_t pair;
    std::memcpy(&pair, A + k, sizeof pair);
    return (__m512bh)_mm512_set1_epi32(static_cast<int>(pair));
  }
  static vec madd(vec acc, __m512bh a, __m512bh b) { return _mm512_dpbf16_ps(acc, a, b); }
};
inline void store_bf16(bf16* p, vec v) { _mm256_storeu_si256((__m256i*)p, (__m256i)_mm512_cvtneps_pbh(v)); }
#else
constexpr bool kHasBf16 = false;
struct Bf16 { using T = bf16; static constexpr int kRows = 2; };
inline void store_bf16(bf16*, vec) { TORCH_CHECK(false, "fused LSTM: built without AVX512-BF16"); }
#endif

#ifdef __AVX512F__
template <typename Op, int MR, int NV>
inline void gemm_tile(const typename Op::T* A, int64_t lda, const typename Op::T* B, int64_t ldb, float* C,
                      int64_t ldc, int64_t K) {
  vec acc[MR][NV];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; k += Op::kRows) {
    decltype(Op::b_row(B, 0, 0, 0)) b[NV];
    for (int v = 0; v < NV; ++v) b[v] = Op::b_row(B, k, ldb, v);
    for (int r = 0; r < MR; ++r) {
      auto a = Op::a_value(A + r * lda, k);
      for (int v = 0; v < NV; ++v) acc[r][v] = Op::madd(acc[r][v], a, b[v]);
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) vstore(C + r * ldc + v * kLanes, acc[r][v]);
}

template <typename Op, int NV>
inline void gemm_columns(const typename Op::T* A, int64_t lda, const typename Op::T* B, int64_t ldb, float* C,
                         int64_t ldc, int64_t M, int64_t K) {
  int64_t m = 0;
  for (; m + 4 <= M; m += 4) gemm_tile<Op, 4, NV>(A + m * lda, lda, B, ldb, C + m * ldc, ldc, K);
  for (; m < M; ++m) gemm_tile<Op, 1, NV>(A + m * lda, lda, B, ldb, C + m * ldc, ldc, K);
}

template <typename Op>
void gemm(const typename Op::T* A, int64_t lda, const typename Op::T* B, int64_t ldb, float* C, int64_t ldc,
          int64_t M, int64_t N, int64_t K) {
  int64_t n = 0;  // N is a multiple of 16 (checked by the callers)
  for (; n + 64 <= N; n += 64) gemm_columns<Op, 4>(A, lda, B + n * Op::kRows, ldb, C + n, ldc, M, K);
  for (; n < N; n += 16) gemm_columns<Op, 1>(A, lda, B + n * Op::kRows, ldb, C + n, ldc, M, K);
}
#else
template <typename Op>
void gemm(const typename Op::T* A, int64_t lda, const typename Op::T* B, int64_t ldb, float* C, int64_t ldc,
          int64_t M, int64_t N, int64_t K) {
  if constexpr (Op::kRows == 1) {
    for (int64_t m = 0; m < M; ++m) {
      float* c = C + m * ldc;
      for (int64_t n = 0; n < N; ++n) c[n] = 0.0f;
      for (int64_t k = 0; k < K; ++k) {
        const float a = A[m * lda + k];
        for (int64_t n = 0; n < N; ++n) c[n] += a * B[k * ldb + n];
      }
    }
  } else {
    TORCH_CHECK(false, "fused LSTM: built without AVX512-BF16");
  }
}
#endif

// Lays out a K x N fp32 matrix, given element by element, as the operand Op::T expects.
template <typename Op, typename Get>
std::vector<typename Op::T> pack(int64_t K, int64_t N, const Get& get) {
  std::vector<typename Op::T> out(K * N);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) {
      if constexpr (Op::kRows == 1) out[k * N + n] = get(k, n);
      else out[(k / 2) * 2 * N + 2 * n + k % 2] = c10::BFloat16(get(k, n)).x;
    }
  return out;
}

// ---------------------------------------------------------------- threads
struct SpinBarrier {
  explicit SpinBarrier(int n) : parties(n) {}
  void wait() {
    if (parties == 1) return;
    const int gen = generation.load(std::memory_order_acquire);
    if (arrived.fetch_add(1, std::memory_order_acq_rel) == parties - 1) {
      arrived.store(0, std::memory_order_relaxed);
      generation.fetch_add(1, std::memory_order_release);
    } else {
      // spin (a step takes microseconds), but give the core away if the partner is not running
      for (int spins = 0; generation.load(std::memory_order_acquire) == gen; ++spins) {
        if (spins < 4096) cpu_relax();
        else std::this_thread::yield();
      }
    }
  }
  const int parties;
  std::atomic<int> arrived{0};
  std::atomic<int> generation{0};
};

// Hidden units are split in `parts` slices of whole vectors, one thread each.
int64_t choose_parts(int64_t requested, int64_t hidden) {
  int64_t parts = std::max<int64_t>(1, std::min<int64_t>(requested, at::get_num_threads()));
  if (at::in_parallel_region()) parts = 1;
  while (parts > 1 && hidden % (parts * kLanes) != 0) --parts;
  return parts;
}

// Runs work(part) for every part at once on ATen's OpenMP threads (the extension is built with
// -fopenmp and so shares PyTorch's libgomp); the parts meet at barriers inside `work`.
template <typename F>
void run_parts(int64_t parts, const F& work) {
  if (parts == 1) return work(0);
  std::atomic<bool> short_of_threads{false};
  at::parallel_for(0, parts, 1, [&](int64_t begin, int64_t end) {
    if (end - begin == 1) work(begin);
    else short_of_threads = true;  // one thread got several parts: their barriers would deadlock
  });
  TORCH_CHECK(!short_of_threads, "fused LSTM: OpenMP ran fewer threads than parts");
}

// Shapes and types always; the values (a pass over codes and lengths) only where they arrive:
// backward gets the tensors forward already checked.
void check_inputs(const at::Tensor& table, const at::Tensor& codes, const at::Tensor& w_hh,
                  const at::Tensor& lengths, bool check_values) {
  TORCH_CHECK(table.dim() == 2 && table.scalar_type() == at::kFloat && table.is_contiguous() && table.is_cpu(),
              "fused LSTM: input table must be a contiguous float32 CPU tensor (V, 4H)");
  TORCH_CHECK(codes.dim() == 2 && codes.scalar_type() == at::kLong && codes.is_contiguous(),
              "fused LSTM: codes must be a contiguous int64 tensor (T, B)");
  TORCH_CHECK(w_hh.dim() == 2 && w_hh.size(0) == table.size(1) && w_hh.size(0) == 4 * w_hh.size(1) &&
                  w_hh.scalar_type() == at::kFloat && w_hh.is_contiguous(),
              "fused LSTM: recurrent weight must be a contiguous float32 (4H, H) tensor");
  TORCH_CHECK(w_hh.size(1) % kLanes == 0, "fused LSTM: hidden size must be a multiple of ", kLanes);
  TORCH_CHECK(lengths.dim() == 1 && lengths.size(0) == codes.size(1) && lengths.scalar_type() == at::kLong,
              "fused LSTM: lengths must be int64 of size B");
  if (!check_values || codes.numel() == 0) return;
  TORCH_CHECK(lengths.min().item<int64_t>() >= 1 && lengths.max().item<int64_t>() <= codes.size(0),
              "fused LSTM: every length must be in 1..T");
  TORCH_CHECK(codes.min().item<int64_t>() >= 0 && codes.max().item<int64_t>() < table.size(0),
              "fused LSTM: codes must be in 0..V-1");
}

template <typename Op>
at::ScalarType operand_dtype() { return Op::kRows == 1 ? at::kFloat : at::kBFloat16; }

template <typename Op>
inline void store_operand(typename Op::T* p, vec v) {
  if constexpr (Op::kRows == 1) vstore(p, v);
  else store_bf16(p, v);
}

template <typename Op>
std::vector<at::Tensor> forward(const at::Tensor& table, const at::Tensor& codes, const at::Tensor& w_hh,
                                const at::Tensor& lengths, bool save, int64_t threads) {
  using T = typename Op::T;
  const int64_t T_ = codes.size(0), B = codes.size(1), G = table.size(1), H = G / 4;
  auto opts = table.options();
  at::Tensor last = at::zeros({B, H}, opts);
  // only the initial states need zeros; every later step is written before it is read
  at::Tensor h_all = at::empty({save ? T_ + 1 : 2, B, H}, opts.dtype(operand_dtype<Op>()));
  at::Tensor c_all = at::empty({save ? T_ + 1 : 1, B, H}, opts);
  h_all[0].zero_();
  c_all[0].zero_();
  at::Tensor gates = save ? at::empty({T_, B, G}, opts) : at::empty({0}, opts);
  const int64_t parts = choose_parts(threads, H), Hp = H / parts;
  const float* xp = table.data_ptr<float>();
  const int64_t* code = codes.data_ptr<int64_t>();
  const float* w = w_hh.data_ptr<float>();
  const int64_t* len = lengths.data_ptr<int64_t>();
  T* hp = static_cast<T*>(h_all.data_ptr());
  float *cp = c_all.data_ptr<float>(), *lp = last.data_ptr<float>();
  float* gp = save ? gates.data_ptr<float>() : nullptr;
  SpinBarrier barrier(parts);

  run_parts(parts, [&](int64_t part) {
    const int64_t j0 = part * Hp, N = 4 * Hp;
    // this slice's weights as H x (4 gates x Hp): column q*Hp + jj is unit j0 + jj of gate q
    auto W = pack<Op>(H, N, [&](int64_t k, int64_t n) { return w[((n / Hp) * H + j0 + n % Hp) * H + k]; });
    std::vector<float> acc(B * N);
    for (int64_t t = 0; t < T_; ++t) {
      const T* h_prev = hp + (save ? t : t % 2) * B * H;
      T* h_next = hp + (save ? t + 1 : (t + 1) % 2) * B * H;
      const float* c_prev = cp + (save ? t : 0) * B * H;
      float* c_next = cp + (save ? t + 1 : 0) * B * H;
      gemm<Op>(h_prev, H, W.data(), N, acc.data(), N, B, N, H);
      for (int64_t b = 0; b < B; ++b) {
        const float* a = acc.data() + b * N;
        const float* xr = xp + code[t * B + b] * G;  // one-hot input times W_ih^T, plus biases
        const bool is_last = len[b] - 1 == t;
        for (int64_t jj = 0; jj < Hp; jj += kLanes) {
          const int64_t j = j0 + jj, o = b * H + j;
          vec i = vsigmoid(vload(a + jj) + vload(xr + j));
          vec f = vsigmoid(vload(a + Hp + jj) + vload(xr + H + j));
          vec g = vtanh(vload(a + 2 * Hp + jj) + vload(xr + 2 * H + j));
          vec og = vsigmoid(vload(a + 3 * Hp + jj) + vload(xr + 3 * H + j));
          vec c = f * vload(c_prev + o) + i * g;
          vec h = og * vtanh(c);
          vstore(c_next + o, c);
          store_operand<Op>(h_next + o, h);
          if (is_last) vstore(lp + o, h);
          if (gp) {
            float* gr = gp + (t * B + b) * G;
            vstore(gr + j, i), vstore(gr + H + j, f), vstore(gr + 2 * H + j, g), vstore(gr + 3 * H + j, og);
          }
        }
      }
      barrier.wait();  // h_next complete before any slice multiplies it
    }
  });
  return {last, h_all, c_all, gates};
}

template <typename Op>
std::vector<at::Tensor> backward(const at::Tensor& d_last, int64_t vocab, const at::Tensor& codes,
                                 const at::Tensor& w_hh, const at::Tensor& lengths, const at::Tensor& c_all,
                                 const at::Tensor& gates, int64_t threads) {
  using T = typename Op::T;
  const int64_t T_ = gates.size(0), B = gates.size(1), G = gates.size(2), H = G / 4;
  at::Tensor dl = d_last.contiguous();
  at::Tensor d_table = at::zeros({vocab, G}, gates.options());
  at::Tensor d_gates = at::empty({T_, B, G}, gates.options().dtype(operand_dtype<Op>()));
  at::Tensor dh = at::zeros({B, H}, gates.options()), dc = at::zeros({B, H}, gates.options());
  const int64_t parts = choose_parts(threads, H), Hp = H / parts;
  const float *w = w_hh.data_ptr<float>(), *gp = gates.data_ptr<float>(), *cp = c_all.data_ptr<float>();
  const float* dlp = dl.data_ptr<float>();
  const int64_t* len = lengths.data_ptr<int64_t>();
  const int64_t* code = codes.data_ptr<int64_t>();
  float *dtp = d_table.data_ptr<float>(), *dhp = dh.data_ptr<float>(), *dcp = dc.data_ptr<float>();
  T* dgp = static_cast<T*>(d_gates.data_ptr());
  SpinBarrier barrier(parts);

  run_parts(parts, [&](int64_t part) {
    const int64_t j0 = part * Hp;
    auto W = pack<Op>(G, Hp, [&](int64_t k, int64_t n) { return w[k * H + j0 + n]; });  // w_hh[:, slice]
    for (int64_t t = T_ - 1; t >= 0; --t) {
      for (int64_t b = 0; b < B; ++b) {
        const float* gr = gp + (t * B + b) * G;
        T* dg = dgp + (t * B + b) * G;
        float* dt = dtp + code[t * B + b] * G;  // gradient of the table row this step read
        const bool is_last = len[b] - 1 == t;
        for (int64_t jj = 0; jj < Hp; jj += kLanes) {
          const int64_t j = j0 + jj, o = b * H + j;
          vec d_h = vload(dhp + o);
          if (is_last) d_h = d_h + vload(dlp + o);
          vec i = vload(gr + j), f = vload(gr + H + j), g = vload(gr + 2 * H + j), og = vload(gr + 3 * H + j);
          vec c = vload(cp + ((t + 1) * B + b) * H + j), c_prev = vload(cp + (t * B + b) * H + j);
          vec tc = vtanh(c), one = vset(1.0f);
          vec d_c = vload(dcp + o) + d_h * og * (one - tc * tc);
          vec d_gate[4] = {d_c * g * i * (one - i), d_c * c_prev * f * (one - f), d_c * i * (one - g * g),
                           d_h * tc * og * (one - og)};
          for (int q = 0; q < 4; ++q) {
            store_operand<Op>(dg + q * H + j, d_gate[q]);
            vstore(dt + q * H + j, vload(dt + q * H + j) + d_gate[q]);  // columns owned by this slice
          }
          vstore(dcp + o, d_c * f);
        }
      }
      barrier.wait();  // all gate gradients of step t exist before any slice reads them
      if (t > 0) gemm<Op>(dgp + t * B * G, G, W.data(), Hp, dhp + j0, H, B, Hp, G);
    }
  });
  return {d_table, d_gates};
}

}  // namespace

// table (V, 4H): row v is one-hot(v) @ W_ih^T + b_ih + b_hh, the input projection of code v.
// codes (T, B). Returns the hidden state at each row's last step (B, H); with `save`, also
// h (T+1, B, H; bf16 with use_bf16), c (T+1, B, H) and the gate activations (T, B, 4H) for backward.
std::vector<at::Tensor> lstm_forward(const at::Tensor& table, const at::Tensor& codes, const at::Tensor& w_hh,
                                     const at::Tensor& lengths, bool save, int64_t threads, bool use_bf16) {
  check_inputs(table, codes, w_hh, lengths, /*check_values=*/true);
  TORCH_CHECK(!use_bf16 || kHasBf16, "fused LSTM: bf16 needs a CPU with AVX512-BF16");
#ifdef __AVX512BF16__  // elsewhere Bf16 has no vector ops to instantiate with (AVX-512 alone lacks them)
  if (use_bf16) return forward<Bf16>(table, codes, w_hh, lengths, save, threads);
#endif
  return forward<Fp32>(table, codes, w_hh, lengths, save, threads);
}

// Returns the table's gradient (V, 4H) and the gradients of the pre-activation gates,
// dL/d(x + h W^T), for every step (T, B, 4H; bf16 with use_bf16): the recurrent weight's gradient
// is sum_t dgates[t]^T h[t], one large product left to the caller.
std::vector<at::Tensor> lstm_backward(const at::Tensor& d_last, const at::Tensor& table, const at::Tensor& codes,
                                      const at::Tensor& w_hh, const at::Tensor& lengths, const at::Tensor& c_all,
                                      const at::Tensor& gates, int64_t threads, bool use_bf16) {
  check_inputs(table, codes, w_hh, lengths, /*check_values=*/false);
  const int64_t B = codes.size(1), H = w_hh.size(1);
  TORCH_CHECK(gates.dim() == 3 && gates.size(0) == codes.size(0) && gates.size(1) == B && gates.size(2) == 4 * H,
              "fused LSTM: saved gates do not match the codes");
  TORCH_CHECK(d_last.sizes() == at::IntArrayRef({B, H}) && d_last.scalar_type() == at::kFloat,
              "fused LSTM: gradient of the last hidden state must be float32 (B, H)");
  TORCH_CHECK(!use_bf16 || kHasBf16, "fused LSTM: bf16 needs a CPU with AVX512-BF16");
  const int64_t vocab = table.size(0);
#ifdef __AVX512BF16__
  if (use_bf16) return backward<Bf16>(d_last, vocab, codes, w_hh, lengths, c_all, gates, threads);
#endif
  return backward<Fp32>(d_last, vocab, codes, w_hh, lengths, c_all, gates, threads);
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &lstm_forward, "LSTM forward over right-padded batches");
  m.def("backward", &lstm_backward, "LSTM backward: gradients of the pre-activation gates");
  m.attr("has_bf16") = kHasBf16;
  m.attr("lanes") = kLanes;  // the hidden size must be a multiple of this
}
