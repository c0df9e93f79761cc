/* Model files: a network with its standardization, saved and loaded in the format of
 * docs/model-format.md. */
#ifndef BMLP_MODEL_H
#define BMLP_MODEL_H

#include "bmlp/net.h"
#include "bmlp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes net to path. The bytes go to a temporary file beside path that is renamed into place
 * once complete, so an existing file at path is replaced whole or not at all. */
bmlp_status_t bmlp_model_save(const bmlp_net_t *net, const char *path, bmlp_error_t *err);

/* Reads a model file into a new network. A truncated or corrupted file, a wrong magic or an
 * unknown version fails with BMLP_ERR_FORMAT and nothing is allocated. */
bmlp_status_t bmlp_model_load(const char *path, bmlp_net_t **out, bmlp_error_t *err);

#ifdef __cplusplus
}
#endif

#endif /* BMLP_MODEL_H */
