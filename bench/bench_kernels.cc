// Each kernel of each instruction set on the tiles of the standard workloads, with GFLOP/s
// counted as 2 per multiply-add (products) or elements per second (elementwise kernels).
// Shapes (m outputs, k inputs), each on n = 32, 64 and 256 samples (the chunk sizes that
// training uses at batch 256):
//   256 x 256 (D's middle layer), 256 x 32 (M's hidden layer), 2 x 2 (S's hidden layer).
// Also the shuffle's permutation, in time per element, over all positions of n = 2^20
// (a power of two, where no element walks) and of n = 600000 (where 2^20 / n = 1.75).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <new>
#include <vector>

#include "bmlp/bmlp.h"
// The internal headers are C without extern "C" guards.
extern "C" {
#include "dispatch.h"
#include "permute_batch.h"
}

namespace {

const bmlp_isa_t kIsas[] = {BMLP_ISA_SCALAR, BMLP_ISA_AVX2, BMLP_ISA_AVX512};
const size_t kShapes[][2] = {{256, 256}, {256, 32}, {2, 2}};
constexpr size_t kSamples = 256;

// The kernel table of an instruction set, or nullptr when this CPU cannot run it.
const bmlp_kernels_t *table_for(int index)
{
    bmlp_isa_t resolved;
    bmlp_error_t err;
    if (bmlp_isa_resolve(kIsas[index], &resolved, &err) != BMLP_OK)
        return nullptr;
    return bmlp_kernels_for(resolved);
}

// Allocates on 64-byte boundaries, as the library allocates its tiles and parameters. With
// std::vector's 16-byte alignment, each 64-byte load of the AVX-512 kernels spans two cache
// lines, and the 256 x 256 forward product over 64 samples ran at 119 GFLOP/s in place of 170.
template <typename T> struct LineAllocator {
    using value_type = T;
    LineAllocator() = default;
    template <typename U> LineAllocator(const LineAllocator<U> &)
    {
    }
    T *allocate(size_t n)
    {
        void *p = std::aligned_alloc(64, (n * sizeof(T) + 63) / 64 * 64);
        if (p == nullptr)
            throw std::bad_alloc();
        return static_cast<T *>(p);
    }
    void deallocate(T *p, size_t)
    {
        std::free(p);
    }
};
template <typename T, typename U>
bool operator==(const LineAllocator<T> &, const LineAllocator<U> &)
{
    return true;
}
template <typename T, typename U>
bool operator!=(const LineAllocator<T> &, const LineAllocator<U> &)
{
    return false;
}

using Floats = std::vector<float, LineAllocator<float>>;

Floats filled(size_t n)
{
    Floats v(n);
    for (size_t i = 0; i < n; i++)
        v[i] = float(std::sin(0.1 * double(i)));
    return v;
}

enum Product { kForward, kBackwardInput, kWeightGrad };

void BM_Product(benchmark::State &state)
{
    const bmlp_kernels_t *t = table_for(int(state.range(0)));
    const size_t m = kShapes[state.range(1)][0], k = kShapes[state.range(1)][1];
    const Product which = Product(state.range(2));
    const size_t samples = size_t(state.range(3));
    if (t == nullptr) {
        state.SkipWithError("instruction set not available on this CPU");
        return;
    }
    Floats W = filled(m * k), b = filled(m), A = filled(k * samples);
    Floats Z = filled(m * samples), dW(m * k);
    for (auto _ : state) {
        if (which == kForward)
            t->dense_forward(m, samples, k, W.data(), b.data(), A.data(), samples, Z.data(),
                             samples);
        else if (which == kBackwardInput)
            t->dense_backward_input(m, samples, k, W.data(), Z.data(), samples, A.data(), samples);
        else
            t->weight_grad(m, samples, k, Z.data(), samples, A.data(), samples, dW.data());
        benchmark::ClobberMemory();
    }
    const double flops = 2.0 * double(m) * double(k) * double(samples);
    state.counters["GFLOPS"] = benchmark::Counter(flops * double(state.iterations()) * 1e-9,
                                                  benchmark::Counter::kIsRate);
    static const char *names[] = {"dense_forward", "dense_backward_input", "weight_grad"};
    state.SetLabel(std::string(names[which]) + " " + t->name);
}

void BM_Sigmoid(benchmark::State &state)
{
    const bmlp_kernels_t *t = table_for(int(state.range(0)));
    if (t == nullptr) {
        state.SkipWithError("instruction set not available on this CPU");
        return;
    }
    Floats Z = filled(256 * kSamples), A(256 * kSamples);
    for (auto _ : state) {
        t->sigmoid(256, kSamples, Z.data(), kSamples, A.data(), kSamples);
        benchmark::ClobberMemory();
    }
    state.counters["elements_per_second"] = benchmark::Counter(
        double(state.iterations()) * 256.0 * double(kSamples), benchmark::Counter::kIsRate);
    state.SetLabel(t->name);
}

void BM_SgdUpdate(benchmark::State &state)
{
    const bmlp_kernels_t *t = table_for(int(state.range(0)));
    const size_t n = 82689; // the parameters of 64-256-256-1
    if (t == nullptr) {
        state.SkipWithError("instruction set not available on this CPU");
        return;
    }
    Floats g = filled(n), p = filled(n);
    for (auto _ : state) {
        t->axpy(n, -1e-6f, g.data(), p.data());
        benchmark::ClobberMemory();
    }
    state.counters["elements_per_second"] = benchmark::Counter(
        double(state.iterations()) * double(n), benchmark::Counter::kIsRate);
    state.SetLabel(t->name);
}

void BM_Permutation(benchmark::State &state)
{
    const bmlp_kernels_t *t = table_for(int(state.range(0)));
    const size_t n = size_t(state.range(1)), block = 256;
    if (t == nullptr) {
        state.SkipWithError("instruction set not available on this CPU");
        return;
    }
    bmlp_permutation_t p;
    bmlp_permutation_init(&p, n, 1, 1);
    std::vector<size_t> x(block);
    bmlp_isa_t isa = kIsas[state.range(0)];
    // Blocks of 256 positions, as training takes them a chunk at a time.
    for (auto _ : state) {
        for (size_t first = 0; first < n; first += block) {
            size_t count = n - first < block ? n - first : block;
            bmlp_permutation_apply_range(&p, first, count, x.data(), isa);
            benchmark::DoNotOptimize(x.data());
        }
    }
    // Seconds per element, which the table prints with an SI prefix (n for nanoseconds).
    state.counters["time_per_element"] = benchmark::Counter(double(state.iterations()) * double(n),
                                                            benchmark::Counter::kIsRate |
                                                                benchmark::Counter::kInvert);
    state.SetLabel(t->name);
}

BENCHMARK(BM_Product)
    ->ArgNames({"isa", "shape", "kernel", "n"})
    ->ArgsProduct({{0, 1, 2}, {0, 1, 2}, {0, 1, 2}, {32, 64, 256}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Sigmoid)->ArgName("isa")->DenseRange(0, 2)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SgdUpdate)->ArgName("isa")->DenseRange(0, 2)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Permutation)
    ->ArgNames({"isa", "n"})
    ->ArgsProduct({{0, 1, 2}, {1 << 20, 600000}})
    ->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
