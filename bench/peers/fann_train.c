/*
 * Trains a sigmoid MLP with FANN 2.2 (float build) as the FANN peer of scripts/compare-peers.
 *
 * FANN has no cross-entropy error, so it minimizes the squared error. Its FANN_SIGMOID unit
 * computes 1 / (1 + exp(-2 s x)) for steepness s (fann_activation.h), so the default steepness
 * 0.5 gives the logistic function 1 / (1 + exp(-x)) that bmlp uses. The program checks that on
 * one sample against its own forward pass before training. The training error function is
 * FANN_ERRORFUNC_LINEAR, the plain difference, instead of FANN's default tanh-shaped error.
 *
 * Modes:
 *   incremental  FANN_TRAIN_INCREMENTAL: one SGD step per sample, in an order that
 *                fann_shuffle_train_data draws anew every epoch.
 *   batch        FANN_TRAIN_BATCH: one step per epoch on the mean gradient of all samples
 *                (full-batch gradient descent, not mini-batches).
 * FANN trains on one thread: the Debian package (2.2.0) does not ship FANN's parallel
 * training functions.
 *
 * Usage: fann_train --data FILE.npy --hidden 256,256 --lr 0.5 --epochs 3
 *                   --mode incremental|batch [--seed 1]
 * Prints 'key: value' lines: epoch_seconds (one value per epoch), samples_per_second
 * (samples per epoch / median epoch time), loss (the mean binary cross-entropy of the trained
 * model's outputs over all samples) and mse, both computed outside the timed epochs.
 */
#define _POSIX_C_SOURCE 199309L

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <floatfann.h>

#include "npy_f32.h"

#define MAX_LAYERS 66

/* Outputs are clamped to [EPS, 1 - EPS] for the cross-entropy, because FANN's squared error
 * can drive a sigmoid output to exactly 0 or 1 in float. */
#define EPS 1e-7

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* splitmix64, for the initial weights. */
static double uniform(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static void usage_error(const char *message)
{
    fprintf(stderr, "fann_train: %s\n", message);
    fprintf(stderr, "usage: fann_train --data FILE.npy --hidden LIST --lr X --epochs E "
                    "--mode incremental|batch [--seed S]\n");
    exit(2);
}

/* Network shape, as FANN numbers its neurons: layer l contains widths[l] units and then one
 * bias neuron, starting at neuron first[l]. */
typedef struct shape {
    unsigned int layers;
    unsigned int widths[MAX_LAYERS];
    unsigned int first[MAX_LAYERS];
} shape_t;

/* Returns the layer of neuron n. */
static unsigned int layer_of(const shape_t *shape, unsigned int n)
{
    unsigned int l = 0;

    while (l + 1 < shape->layers && n >= shape->first[l + 1])
        l++;
    return l;
}

/* Initializes the weights like bmlp: Glorot/Xavier uniform in +-sqrt(6 / (fan_in + fan_out))
 * and zero biases. fann_set_weight_array finds each connection by a linear search in
 * FANN 2.2, so this takes about 4 s on D's 82,689 connections. It runs before the timed
 * epochs. */
static void init_glorot(struct fann *ann, const shape_t *shape, uint64_t seed,
                        struct fann_connection *connections, unsigned int count)
{
    fann_get_connection_array(ann, connections);
    for (unsigned int i = 0; i < count; i++) {
        unsigned int to = layer_of(shape, connections[i].to_neuron);
        unsigned int from = to - 1;
        int is_bias = connections[i].from_neuron == shape->first[from] + shape->widths[from];
        double limit = sqrt(6.0 / (double)(shape->widths[from] + shape->widths[to]));

        connections[i].weight = is_bias ? 0.0f : (fann_type)((2.0 * uniform(&seed) - 1.0) * limit);
    }
    fann_set_weight_array(ann, connections, count);
}

/* Checks that fann_run computes the logistic network for one input: the forward pass is
 * recomputed here from the connection list with 1 / (1 + exp(-x)). */
static void check_sigmoid(struct fann *ann, const shape_t *shape,
                          const struct fann_connection *connections, unsigned int count,
                          fann_type *input)
{
    unsigned int total = shape->first[shape->layers - 1] + shape->widths[shape->layers - 1] + 1;
    double *value = calloc(total, sizeof *value);
    unsigned int l, i;

    if (value == NULL)
        usage_error("out of memory");
    for (l = 0; l < shape->layers; l++)
        value[shape->first[l] + shape->widths[l]] = 1.0; /* bias neuron */
    for (i = 0; i < shape->widths[0]; i++)
        value[i] = input[i];
    for (l = 1; l < shape->layers; l++) {
        for (i = 0; i < count; i++)
            if (layer_of(shape, connections[i].to_neuron) == l)
                value[connections[i].to_neuron] +=
                    (double)connections[i].weight * value[connections[i].from_neuron];
        for (i = 0; i < shape->widths[l]; i++) {
            double *v = &value[shape->first[l] + i];
            *v = 1.0 / (1.0 + exp(-*v));
        }
    }

    double expected = value[shape->first[shape->layers - 1]];
    double actual = fann_run(ann, input)[0];
    free(value);
    if (fabs(actual - expected) > 1e-4) {
        fprintf(stderr, "fann_train: FANN's output %.6f differs from the logistic network's "
                        "%.6f; the steepness does not match 1 / (1 + exp(-x))\n",
                actual, expected);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    const char *path = NULL, *mode = NULL, *hidden = "16";
    float lr = 0.5f;
    int epochs = 3;
    uint64_t seed = 1;
    npy_f32_t data;
    shape_t shape;
    int i;

    for (i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage_error("missing value after an option");
        if (strcmp(argv[i], "--data") == 0)
            path = argv[++i];
        else if (strcmp(argv[i], "--hidden") == 0)
            hidden = argv[++i];
        else if (strcmp(argv[i], "--lr") == 0)
            lr = strtof(argv[++i], NULL);
        else if (strcmp(argv[i], "--epochs") == 0)
            epochs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--mode") == 0)
            mode = argv[++i];
        else if (strcmp(argv[i], "--seed") == 0)
            seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--batch") == 0)
            usage_error("--batch does not apply: FANN trains incrementally or on the full epoch");
        else
            usage_error("unknown option");
    }
    if (path == NULL || mode == NULL)
        usage_error("--data and --mode are required");
    if (strcmp(mode, "incremental") != 0 && strcmp(mode, "batch") != 0)
        usage_error("--mode must be incremental or batch");
    if (epochs < 1 || !(lr > 0.0f))
        usage_error("--epochs must be at least 1 and --lr positive");
    if (npy_f32_load(path, &data) != 0)
        return 2;
    if (data.cols < 2)
        usage_error("the data needs at least one feature column");

    shape.layers = 0;
    shape.widths[shape.layers++] = (unsigned int)(data.cols - 1);
    for (const char *p = hidden; *p != '\0';) {
        char *end;
        long width = strtol(p, &end, 10);
        if (width < 1 || end == p || shape.layers + 1 >= MAX_LAYERS)
            usage_error("--hidden must be a comma-separated list of positive widths");
        shape.widths[shape.layers++] = (unsigned int)width;
        p = *end == ',' ? end + 1 : end;
    }
    shape.widths[shape.layers++] = 1;
    shape.first[0] = 0;
    for (unsigned int l = 1; l < shape.layers; l++)
        shape.first[l] = shape.first[l - 1] + shape.widths[l - 1] + 1;

    size_t samples = data.rows, features = data.cols - 1;
    struct fann_train_data *train =
        fann_create_train((unsigned int)samples, (unsigned int)features, 1);
    if (train == NULL)
        usage_error("fann_create_train failed");
    for (size_t s = 0; s < samples; s++) {
        memcpy(train->input[s], data.values + s * data.cols, features * sizeof(float));
        train->output[s][0] = data.values[s * data.cols + features];
    }

    struct fann *ann = fann_create_standard_array(shape.layers, shape.widths);
    fann_set_activation_function_hidden(ann, FANN_SIGMOID);
    fann_set_activation_function_output(ann, FANN_SIGMOID);
    fann_set_activation_steepness_hidden(ann, 0.5f);
    fann_set_activation_steepness_output(ann, 0.5f);
    fann_set_train_error_function(ann, FANN_ERRORFUNC_LINEAR);
    fann_set_training_algorithm(ann, strcmp(mode, "batch") == 0 ? FANN_TRAIN_BATCH
                                                                : FANN_TRAIN_INCREMENTAL);
    fann_set_learning_rate(ann, lr);
    fann_set_learning_momentum(ann, 0.0f);

    unsigned int count = fann_get_total_connections(ann);
    struct fann_connection *connections = malloc(count * sizeof *connections);
    if (connections == NULL)
        usage_error("out of memory");
    init_glorot(ann, &shape, seed, connections, count);
    check_sigmoid(ann, &shape, connections, count, train->input[0]);
    free(connections);

    /* fann_shuffle_train_data draws from rand(). */
    srand((unsigned int)seed);
    double *seconds = malloc((size_t)epochs * sizeof *seconds);
    if (seconds == NULL)
        usage_error("out of memory");
    for (int e = 0; e < epochs; e++) {
        double t0 = now_seconds();
        if (strcmp(mode, "incremental") == 0)
            fann_shuffle_train_data(train);
        fann_train_epoch(ann, train);
        seconds[e] = now_seconds() - t0;
    }

    /* The loss of the trained model over all samples, not timed. */
    double bce = 0.0, squared = 0.0;
    for (size_t s = 0; s < samples; s++) {
        double p = fann_run(ann, data.values + s * data.cols)[0];
        double y = data.values[s * data.cols + features];
        double clamped = fmin(fmax(p, EPS), 1.0 - EPS);
        bce -= y * log(clamped) + (1.0 - y) * log(1.0 - clamped);
        squared += (p - y) * (p - y);
    }

    printf("peer: FANN 2.2 %s\n", mode);
    printf("threads: 1\n");
    printf("epoch_seconds:");
    for (int e = 0; e < epochs; e++)
        printf(" %.6f", seconds[e]);
    qsort(seconds, (size_t)epochs, sizeof *seconds, compare_doubles);
    double median = epochs % 2 ? seconds[epochs / 2]
                               : 0.5 * (seconds[epochs / 2 - 1] + seconds[epochs / 2]);
    printf("\nsamples_per_second: %.6g\n", (double)samples / median);
    printf("loss: %.6f\n", bce / (double)samples);
    printf("mse: %.6f\n", squared / (double)samples);

    free(seconds);
    fann_destroy(ann);
    fann_destroy_train(train);
    free(data.values);
    return 0;
}
