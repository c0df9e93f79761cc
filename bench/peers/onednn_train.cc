// Trains a sigmoid MLP with binary cross-entropy by mini-batch SGD, built from oneDNN 2.x
// primitives, as the oneDNN peer of scripts/compare-peers.
//
// Each layer is an inner product whose weight layout oneDNN chooses (format_tag::any) when
// the forward primitive is created. The backward-data and backward-weights primitives are
// created with that same layout for the weights and the weight gradient, so no reorder runs
// inside a step and the SGD update (a sum primitive, W = 1 * W + (-lr) * dW, in place) works
// on matching buffers. Hidden units apply the logistic eltwise primitive in place, in its
// variant that computes the backward pass from the output. Two more eltwise primitives take
// the sigmoid and the softplus of the output layer's logit, from which a plain loop computes
// the loss and the logit's gradient, (sigmoid(z) - y) / batch.
//
// Threads: Debian's libdnnl uses OpenMP, so OMP_NUM_THREADS sets them. The shuffle, the copy
// of the batch rows and the loss loop run on one thread.
//
// Usage: onednn_train --data FILE.npy --hidden 256,256 --batch 256 --lr 0.5 --epochs 3
//                     [--seed 1]
// Prints 'key: value' lines: threads, epoch_seconds, samples_per_second, last_epoch_loss,
// loss and the weight layout of each layer. epoch_seconds has one value per epoch, and
// samples_per_second is samples per epoch / median epoch time. last_epoch_loss is the mean
// loss of the last epoch's steps. loss is the mean binary cross-entropy over all samples
// after training, computed outside the timed epochs.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "npy_f32.h"

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

namespace {

struct Options {
    std::string data;
    std::vector<int> hidden;
    int batch = 256;
    float lr = 0.5f;
    int epochs = 3;
    uint64_t seed = 1;
};

// splitmix64: a small seeded generator for the initial weights and the epoch permutations.
struct Rng {
    uint64_t state;
    uint64_t next()
    {
        uint64_t z = (state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    double uniform() { return (double)(next() >> 11) * 0x1.0p-53; }
    // A draw in [0, n) by multiplying and shifting, which costs less than a division.
    uint64_t below(uint64_t n)
    {
        __extension__ typedef unsigned __int128 uint128;
        return (uint64_t)(((uint128)next() * n) >> 64);
    }
};

// Parameters and gradients of one layer, in the layouts the forward primitive chose.
struct Layer {
    int in = 0, out = 0;
    memory::desc weights_md, bias_md;
    memory weights, bias, diff_weights, diff_bias;
    dnnl::sum update_weights, update_bias;
};

// A primitive with its arguments. The arguments are built once, when the step is made, and
// passed through the C API, because the C++ execute() allocates a copy of its argument map
// on every call, which costs as much as a small primitive. The map keeps the memory objects
// alive.
struct Call {
    dnnl::primitive primitive;
    std::unordered_map<int, memory> args;
    std::vector<dnnl_exec_arg_t> c_args = {};
};

// The primitives and activation buffers of a training step for one batch size. Layer l
// (0-based) reads activations[l] and writes activations[l + 1], and diffs[l + 1] is the
// gradient of the loss with respect to layer l's output before the sigmoid. The forward calls
// leave the logits in activations.back(), their sigmoid in probabilities and their softplus,
// log(1 + exp(z)), in softplus. The backward calls, which include the SGD update, read their
// gradient from diffs.back().
struct Step {
    int batch = 0;
    std::vector<memory> activations, diffs;
    memory probabilities, softplus;
    std::vector<Call> forward, backward;
};

[[noreturn]] void usage_error(const std::string &message)
{
    std::fprintf(stderr, "onednn_train: %s\n", message.c_str());
    std::fprintf(stderr,
                 "usage: onednn_train --data FILE.npy --hidden LIST --batch B --lr X "
                 "--epochs E [--seed S]\n");
    std::exit(2);
}

Options parse_options(int argc, char **argv)
{
    Options opt;
    for (int i = 1; i < argc; i++) {
        std::string key = argv[i];
        if (i + 1 >= argc)
            usage_error("missing value after " + key);
        std::string value = argv[++i];
        if (key == "--data") {
            opt.data = value;
        } else if (key == "--hidden") {
            size_t start = 0;
            while (start <= value.size()) {
                size_t comma = value.find(',', start);
                if (comma == std::string::npos)
                    comma = value.size();
                opt.hidden.push_back(std::atoi(value.substr(start, comma - start).c_str()));
                start = comma + 1;
            }
        } else if (key == "--batch") {
            opt.batch = std::atoi(value.c_str());
        } else if (key == "--lr") {
            opt.lr = std::strtof(value.c_str(), nullptr);
        } else if (key == "--epochs") {
            opt.epochs = std::atoi(value.c_str());
        } else if (key == "--seed") {
            opt.seed = std::strtoull(value.c_str(), nullptr, 10);
        } else {
            usage_error("unknown option " + key);
        }
    }
    if (opt.data.empty())
        usage_error("--data is required");
    if (opt.batch < 1 || opt.epochs < 1 || !(opt.lr > 0.0f))
        usage_error("--batch and --epochs must be at least 1 and --lr positive");
    for (int width : opt.hidden)
        if (width < 1)
            usage_error("hidden widths must be at least 1");
    return opt;
}

memory::desc plain_md(int rows, int cols) { return memory::desc({rows, cols}, dt::f32, tag::nc); }

float *data_of(const memory &m) { return static_cast<float *>(m.get_data_handle()); }

// Creates the layers' parameters with the weight layout that a forward primitive at this
// batch size chooses, initialized like bmlp: Glorot/Xavier uniform weights in
// +-sqrt(6 / (fan_in + fan_out)) and zero biases.
std::vector<Layer> make_layers(const std::vector<int> &widths, int batch, float lr, Rng &rng,
                               const dnnl::engine &engine, dnnl::stream &stream)
{
    std::vector<Layer> layers(widths.size() - 1);
    for (size_t l = 0; l < layers.size(); l++) {
        Layer &layer = layers[l];
        layer.in = widths[l];
        layer.out = widths[l + 1];
        memory::desc any_weights({layer.out, layer.in}, dt::f32, tag::any);
        layer.bias_md = memory::desc({layer.out}, dt::f32, tag::a);
        dnnl::inner_product_forward::primitive_desc probe(
            dnnl::inner_product_forward::desc(prop_kind::forward_training,
                                              plain_md(batch, layer.in), any_weights,
                                              layer.bias_md, plain_md(batch, layer.out)),
            engine);
        layer.weights_md = probe.weights_desc();
        layer.weights = memory(layer.weights_md, engine);
        layer.diff_weights = memory(layer.weights_md, engine);
        layer.bias = memory(layer.bias_md, engine);
        layer.diff_bias = memory(layer.bias_md, engine);

        memory plain_weights({{layer.out, layer.in}, dt::f32, tag::ab}, engine);
        double limit = std::sqrt(6.0 / (double)(layer.in + layer.out));
        float *w = data_of(plain_weights);
        for (size_t i = 0; i < (size_t)layer.out * (size_t)layer.in; i++)
            w[i] = (float)((2.0 * rng.uniform() - 1.0) * limit);
        dnnl::reorder(plain_weights, layer.weights).execute(stream, plain_weights, layer.weights);
        std::memset(data_of(layer.diff_weights), 0, layer.weights_md.get_size());
        std::memset(data_of(layer.bias), 0, layer.bias_md.get_size());

        // The sum primitive may write in place over its first source.
        dnnl::sum::primitive_desc update_w(layer.weights_md, {1.0f, -lr},
                                           {layer.weights_md, layer.weights_md}, engine);
        dnnl::sum::primitive_desc update_b(layer.bias_md, {1.0f, -lr},
                                           {layer.bias_md, layer.bias_md}, engine);
        layer.update_weights = dnnl::sum(update_w);
        layer.update_bias = dnnl::sum(update_b);
    }
    stream.wait();
    return layers;
}

Step make_step(const std::vector<Layer> &layers, int batch, const dnnl::engine &engine)
{
    Step step;
    size_t count = layers.size();
    step.batch = batch;
    step.activations.emplace_back(plain_md(batch, layers[0].in), engine);
    step.diffs.emplace_back();
    for (const Layer &layer : layers) {
        step.activations.emplace_back(plain_md(batch, layer.out), engine);
        step.diffs.emplace_back(plain_md(batch, layer.out), engine);
    }

    std::vector<dnnl::inner_product_forward::primitive_desc> forward_pds;
    std::vector<dnnl::eltwise_forward::primitive_desc> sigmoid_pds;
    for (size_t l = 0; l < count; l++) {
        const Layer &layer = layers[l];
        memory::desc src_md = plain_md(batch, layer.in);
        memory::desc dst_md = plain_md(batch, layer.out);
        forward_pds.emplace_back(
            dnnl::inner_product_forward::desc(prop_kind::forward_training, src_md,
                                              layer.weights_md, layer.bias_md, dst_md),
            engine);
        step.forward.push_back({dnnl::inner_product_forward(forward_pds[l]),
                                {{DNNL_ARG_SRC, step.activations[l]},
                                 {DNNL_ARG_WEIGHTS, layer.weights},
                                 {DNNL_ARG_BIAS, layer.bias},
                                 {DNNL_ARG_DST, step.activations[l + 1]}}});
        if (l + 1 < count) {
            sigmoid_pds.emplace_back(
                dnnl::eltwise_forward::desc(prop_kind::forward_training,
                                            algorithm::eltwise_logistic_use_dst_for_bwd, dst_md,
                                            0.0f, 0.0f),
                engine);
            step.forward.push_back({dnnl::eltwise_forward(sigmoid_pds[l]),
                                    {{DNNL_ARG_SRC, step.activations[l + 1]},
                                     {DNNL_ARG_DST, step.activations[l + 1]}}});
        }
    }

    // The loss and its gradient need sigmoid(z) and softplus(z) of the logits z, which the
    // eltwise primitives compute in vector code, unlike calls to libm's expf and logf.
    memory::desc logits_md = plain_md(batch, 1);
    step.probabilities = memory(logits_md, engine);
    step.softplus = memory(logits_md, engine);
    // Appends an eltwise primitive from the logits to dst.
    auto append_eltwise = [&](algorithm kind, const memory &dst) {
        dnnl::eltwise_forward::primitive_desc pd(
            dnnl::eltwise_forward::desc(prop_kind::forward_inference, kind, logits_md, 0.0f, 0.0f),
            engine);
        step.forward.push_back({dnnl::eltwise_forward(pd),
                                {{DNNL_ARG_SRC, step.activations.back()}, {DNNL_ARG_DST, dst}}});
    };
    append_eltwise(algorithm::eltwise_logistic, step.probabilities);
    append_eltwise(algorithm::eltwise_soft_relu, step.softplus);

    for (size_t l = count; l-- > 0;) {
        const Layer &layer = layers[l];
        memory::desc src_md = plain_md(batch, layer.in);
        memory::desc dst_md = plain_md(batch, layer.out);
        dnnl::inner_product_backward_weights::primitive_desc weights_pd(
            dnnl::inner_product_backward_weights::desc(src_md, layer.weights_md, layer.bias_md,
                                                       dst_md),
            engine, forward_pds[l]);
        step.backward.push_back({dnnl::inner_product_backward_weights(weights_pd),
                                 {{DNNL_ARG_SRC, step.activations[l]},
                                  {DNNL_ARG_DIFF_DST, step.diffs[l + 1]},
                                  {DNNL_ARG_DIFF_WEIGHTS, layer.diff_weights},
                                  {DNNL_ARG_DIFF_BIAS, layer.diff_bias}}});
        if (l == 0)
            break;
        dnnl::inner_product_backward_data::primitive_desc data_pd(
            dnnl::inner_product_backward_data::desc(src_md, layer.weights_md, dst_md), engine,
            forward_pds[l]);
        step.backward.push_back({dnnl::inner_product_backward_data(data_pd),
                                 {{DNNL_ARG_DIFF_DST, step.diffs[l + 1]},
                                  {DNNL_ARG_WEIGHTS, layer.weights},
                                  {DNNL_ARG_DIFF_SRC, step.diffs[l]}}});
        memory::desc hidden_md = plain_md(batch, layer.in);
        dnnl::eltwise_backward::primitive_desc sigmoid_backward_pd(
            dnnl::eltwise_backward::desc(algorithm::eltwise_logistic_use_dst_for_bwd, hidden_md,
                                         hidden_md, 0.0f, 0.0f),
            engine, sigmoid_pds[l - 1]);
        step.backward.push_back({dnnl::eltwise_backward(sigmoid_backward_pd),
                                 {{DNNL_ARG_DST, step.activations[l]},
                                  {DNNL_ARG_DIFF_DST, step.diffs[l]},
                                  {DNNL_ARG_DIFF_SRC, step.diffs[l]}}});
    }

    // The updates come after every backward-data primitive has read its layer's weights.
    for (const Layer &layer : layers) {
        step.backward.push_back({layer.update_weights,
                                 {{DNNL_ARG_MULTIPLE_SRC + 0, layer.weights},
                                  {DNNL_ARG_MULTIPLE_SRC + 1, layer.diff_weights},
                                  {DNNL_ARG_DST, layer.weights}}});
        step.backward.push_back({layer.update_bias,
                                 {{DNNL_ARG_MULTIPLE_SRC + 0, layer.bias},
                                  {DNNL_ARG_MULTIPLE_SRC + 1, layer.diff_bias},
                                  {DNNL_ARG_DST, layer.bias}}});
    }
    for (std::vector<Call> *calls : {&step.forward, &step.backward})
        for (Call &call : *calls)
            for (const auto &arg : call.args)
                call.c_args.push_back({arg.first, arg.second.get()});
    return step;
}

// How many rows ahead gather() prefetches.
constexpr int PREFETCH_ROWS = 16;

// Copies the rows order[first .. first + step.batch) of the dataset into the input buffer and
// their labels into labels.
void gather(const npy_f32_t &data, const uint32_t *order, size_t first, Step &step,
            float *labels)
{
    size_t features = data.cols - 1;
    float *x = data_of(step.activations[0]);
    for (int i = 0; i < step.batch; i++) {
        const float *row = data.values + (size_t)order[first + i] * data.cols;
        // The rows are scattered over a dataset larger than L2, so fetch ahead.
        if (i + PREFETCH_ROWS < step.batch)
            __builtin_prefetch(data.values + (size_t)order[first + i + PREFETCH_ROWS] * data.cols);
        // A plain loop: for rows of a few features, a call to memcpy costs more than the copy.
        for (size_t j = 0; j < features; j++)
            x[(size_t)i * features + j] = row[j];
        labels[i] = row[features];
    }
}

void run_calls(std::vector<Call> &calls, dnnl::stream &stream)
{
    for (Call &call : calls)
        dnnl::error::wrap_c_api(dnnl_primitive_execute(call.primitive.get(), stream.get(),
                                                       (int)call.c_args.size(),
                                                       call.c_args.data()),
                                "could not execute a primitive");
    stream.wait();
}

// Returns the summed binary cross-entropy of the batch after the forward calls ran, as
// softplus(z) - z y for logit z and label y. When gradient is not null, it receives
// (sigmoid(z) - y) / batch, the gradient of the batch-mean loss with respect to z.
double bce_from_logits(const Step &step, const float *labels, float *gradient)
{
    const float *z = data_of(step.activations.back());
    const float *p = data_of(step.probabilities);
    const float *softplus = data_of(step.softplus);
    float scale = 1.0f / (float)step.batch;
    double sum = 0.0;

    for (int i = 0; i < step.batch; i++)
        sum += (double)(softplus[i] - z[i] * labels[i]);
    if (gradient != nullptr)
        for (int i = 0; i < step.batch; i++)
            gradient[i] = (p[i] - labels[i]) * scale;
    return sum;
}

// Runs one SGD step on the gathered batch and returns its summed loss.
double train_step(Step &step, const float *labels, dnnl::stream &stream)
{
    run_calls(step.forward, stream);
    double loss = bce_from_logits(step, labels, data_of(step.diffs.back()));
    run_calls(step.backward, stream);
    return loss;
}

double median(std::vector<double> values)
{
    std::sort(values.begin(), values.end());
    size_t n = values.size();
    return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

} // namespace

int main(int argc, char **argv)
{
    Options opt = parse_options(argc, argv);
    npy_f32_t data;
    if (npy_f32_load(opt.data.c_str(), &data) != 0)
        return 2;
    if (data.cols < 2 || data.rows > UINT32_MAX)
        usage_error("the data needs at least one feature column and at most 2^32 rows");

    std::vector<int> widths = {(int)data.cols - 1};
    widths.insert(widths.end(), opt.hidden.begin(), opt.hidden.end());
    widths.push_back(1);

    size_t samples = data.rows;
    int batch = (int)std::min<size_t>((size_t)opt.batch, samples);
    int tail = (int)(samples % (size_t)batch);

    dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    dnnl::stream stream(engine);
    Rng rng{opt.seed};
    std::vector<Layer> layers = make_layers(widths, batch, opt.lr, rng, engine, stream);
    // A smaller last batch of an epoch gets primitives of its own, on the same parameters.
    Step full = make_step(layers, batch, engine);
    std::unique_ptr<Step> last = tail ? std::make_unique<Step>(make_step(layers, tail, engine))
                                      : nullptr;

    std::vector<uint32_t> order(samples);
    std::vector<float> labels((size_t)batch);
    std::vector<double> epoch_seconds;
    double epoch_loss = 0.0;
    for (int epoch = 0; epoch < opt.epochs; epoch++) {
        auto t0 = std::chrono::steady_clock::now();
        // A new Fisher-Yates permutation of the samples every epoch.
        for (size_t i = 0; i < samples; i++)
            order[i] = (uint32_t)i;
        for (size_t i = samples - 1; i > 0; i--)
            std::swap(order[i], order[rng.below(i + 1)]);
        epoch_loss = 0.0;
        for (size_t first = 0; first < samples; first += (size_t)batch) {
            Step &step = first + (size_t)batch <= samples ? full : *last;
            gather(data, order.data(), first, step, labels.data());
            epoch_loss += train_step(step, labels.data(), stream);
        }
        auto t1 = std::chrono::steady_clock::now();
        epoch_seconds.push_back(std::chrono::duration<double>(t1 - t0).count());
        if (!std::isfinite(epoch_loss)) {
            std::fprintf(stderr, "onednn_train: loss is not finite in epoch %d\n", epoch + 1);
            return 1;
        }
    }

    // The loss of the trained model over all samples in file order, not timed.
    for (size_t i = 0; i < samples; i++)
        order[i] = (uint32_t)i;
    double loss = 0.0;
    for (size_t first = 0; first < samples; first += (size_t)batch) {
        Step &step = first + (size_t)batch <= samples ? full : *last;
        gather(data, order.data(), first, step, labels.data());
        run_calls(step.forward, stream);
        loss += bce_from_logits(step, labels.data(), nullptr);
    }

    std::printf("peer: oneDNN %d.%d.%d\n", dnnl::version()->major, dnnl::version()->minor,
                dnnl::version()->patch);
    std::printf("threads: %d\n", omp_get_max_threads());
    std::printf("epoch_seconds:");
    for (double s : epoch_seconds)
        std::printf(" %.6f", s);
    std::printf("\nsamples_per_second: %.6g\n", (double)samples / median(epoch_seconds));
    std::printf("last_epoch_loss: %.6f\n", epoch_loss / (double)samples);
    std::printf("loss: %.6f\n", loss / (double)samples);
    // The weight layouts oneDNN chose, as the strides of the (out, in) dimensions and the
    // number of inner blocks (0 for a plain layout).
    for (size_t l = 0; l < layers.size(); l++) {
        const dnnl_memory_desc_t &md = layers[l].weights_md.data;
        if (md.format_kind == dnnl_blocked)
            std::printf("weights_layout_%zu: strides %lld,%lld, inner blocks %d\n", l + 1,
                        (long long)md.format_desc.blocking.strides[0],
                        (long long)md.format_desc.blocking.strides[1],
                        md.format_desc.blocking.inner_nblks);
        else
            std::printf("weights_layout_%zu: not blocked (format kind %d)\n", l + 1,
                        (int)md.format_kind);
    }
    free(data.values);
    return 0;
}
