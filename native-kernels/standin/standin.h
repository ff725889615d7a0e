// Shared between the stand-in libraries (libcuda.so.1, libcublas.so.12, libcudnn.so.9): the C
// entry points libcuda.so.1 exports for the other two, so that their work is queued on the
// stand-in driver's streams (and recorded into graphs during capture) and their device memory
// accesses are checked like a kernel's.
#pragma once
#include <cstddef>
#include <cstdint>

extern "C" {
// Enqueues work on a stand-in stream (0 = the legacy stream): run now, later in stream order, or
// recorded into the graph being captured. work(payload) returns 0 or a CUresult; release(payload)
// is called once the work can no longer run. Returns a CUresult.
int hs_standin_enqueue(void* stream, const char* what, int (*work)(void*), void* payload, void (*release)(void*));

// Checks [p, p + bytes) for an access by `who`: device memory of one live allocation, initialised
// where read (mode 0 read, 1 write, 2 read-write). A violation is reported (stderr and the stand-in's
// report), makes the context's error sticky (CUDA_ERROR_ILLEGAL_ADDRESS) and returns 0; 1 when allowed.
// Writes mark the range initialised.
int hs_standin_access(const void* p, size_t bytes, int mode, const char* who);

// Whether p lies in a live device allocation (for argument checks that are not accesses).
int hs_standin_is_device(const void* p);

// Records a library's refusal or misuse that the real library would answer with an error code, so
// that the Java side can show why (appended to the report that StandIn.lastReport() returns).
void hs_standin_note(const char* message);

// Whether `stream` is being captured into a graph now.
int hs_standin_capturing(void* stream);
}
