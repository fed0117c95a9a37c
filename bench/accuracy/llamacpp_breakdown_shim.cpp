// Exact-byte memory breakdown for a llama_context, callable from ctypes.
//
// llama_get_memory_breakdown() is a C++ API (llama-ext.h, returns a std::map), so ctypes cannot
// call it directly. This shim flattens it: one row per backend buffer type with the bytes that
// llama.cpp attributes to model weights, context (KV / recurrent state) and compute buffers.
// Build (see README.md): g++ -O1 -shared -fPIC -std=c++17 -I<llama.cpp>/include -I<llama.cpp>/ggml/include
//     -I<llama.cpp>/src llamacpp_breakdown_shim.cpp -L<site-packages>/llama_cpp/lib -lllama -lggml-base
#include "llama-ext.h"
#include "ggml-backend.h"

#include <cstdint>
#include <cstring>

extern "C" int hb_memory_breakdown(const llama_context * ctx, char * names, int names_len,
                                   uint64_t * out, int max_rows) {
    const llama_memory_breakdown mb = llama_get_memory_breakdown(ctx);
    int row = 0;
    int pos = 0;
    if (names_len > 0) {
        names[0] = '\0';
    }
    for (const auto & [buft, data] : mb) {
        if (row >= max_rows) {
            break;
        }
        const char * name = buft ? ggml_backend_buft_name(buft) : "?";
        const int n = (int) strlen(name);
        if (pos + n + 2 < names_len) {
            memcpy(names + pos, name, n);
            pos += n;
            names[pos++] = '\n';
            names[pos] = '\0';
        }
        out[3*row + 0] = data.model;
        out[3*row + 1] = data.context;
        out[3*row + 2] = data.compute;
        row++;
    }
    return (int) mb.size();
}
