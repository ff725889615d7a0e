// JNI library behind hybridsam.cuda.EmulatedDevice: the driver API's shape (alloc, free, copies,
// launch by kernel name with a packed parameter buffer) over host memory, running the kernels of
// native-kernels/*.cu compiled as host C++. Device pointers are host addresses.
#include <jni.h>

#include <string>
#include <vector>

#include "runtime.h"

using hsemu::Kernel;
using hsemu::kernels;

namespace {
void throw_java(JNIEnv* env, const std::string& msg) {
    jclass c = env->FindClass("java/lang/IllegalStateException");
    env->ThrowNew(c, msg.c_str());
}

void* ptr(jlong a) {
    return reinterpret_cast<void*>(static_cast<intptr_t>(a));
}
}  // namespace

#define JNI(ret, name) extern "C" JNIEXPORT ret JNICALL Java_hybridsam_cuda_EmulatedNative_##name

JNI(jobjectArray, kernelNames)(JNIEnv* env, jclass) {
    const auto& t = kernels();
    jobjectArray out = env->NewObjectArray((jsize) t.size(), env->FindClass("java/lang/String"), nullptr);
    jsize i = 0;
    for (const auto& e : t) env->SetObjectArrayElement(out, i++, env->NewStringUTF(e.first.c_str()));
    return out;
}

// The emulator's parameter signature of a kernel (Kernel::signature, from its C++ parameter types),
// or null when it has none of that name.
JNI(jstring, kernelSignature)(JNIEnv* env, jclass, jstring jname) {
    if (jname == nullptr) return nullptr;
    const char* cname = env->GetStringUTFChars(jname, nullptr);
    if (cname == nullptr) return nullptr;  // OutOfMemoryError pending
    std::string name(cname);
    env->ReleaseStringUTFChars(jname, cname);
    auto it = kernels().find(name);
    if (it == kernels().end()) return nullptr;
    return env->NewStringUTF(it->second.signature.c_str());
}

JNI(jlong, alloc)(JNIEnv*, jclass, jlong bytes) {
    void* p = std::aligned_alloc(256, (size_t) ((bytes + 255) / 256 * 256));
    return (jlong) reinterpret_cast<intptr_t>(p);
}

JNI(void, free)(JNIEnv*, jclass, jlong a) {
    std::free(ptr(a));
}

JNI(void, memsetZero)(JNIEnv*, jclass, jlong a, jlong bytes) {
    std::memset(ptr(a), 0, (size_t) bytes);
}

JNI(void, copyDeviceToDevice)(JNIEnv*, jclass, jlong dst, jlong src, jlong bytes) {
    std::memmove(ptr(dst), ptr(src), (size_t) bytes);
}

JNI(void, putFloats)(JNIEnv* env, jclass, jlong dst, jfloatArray a, jint off, jint n) {
    env->GetFloatArrayRegion(a, off, n, static_cast<jfloat*>(ptr(dst)));
}

JNI(void, getFloats)(JNIEnv* env, jclass, jlong src, jfloatArray a, jint off, jint n) {
    env->SetFloatArrayRegion(a, off, n, static_cast<const jfloat*>(ptr(src)));
}

JNI(void, putInts)(JNIEnv* env, jclass, jlong dst, jintArray a, jint off, jint n) {
    env->GetIntArrayRegion(a, off, n, static_cast<jint*>(ptr(dst)));
}

JNI(void, getInts)(JNIEnv* env, jclass, jlong src, jintArray a, jint off, jint n) {
    env->SetIntArrayRegion(a, off, n, static_cast<const jint*>(ptr(src)));
}

JNI(void, putDoubles)(JNIEnv* env, jclass, jlong dst, jdoubleArray a, jint off, jint n) {
    env->GetDoubleArrayRegion(a, off, n, static_cast<jdouble*>(ptr(dst)));
}

JNI(void, getDoubles)(JNIEnv* env, jclass, jlong src, jdoubleArray a, jint off, jint n) {
    env->SetDoubleArrayRegion(a, off, n, static_cast<const jdouble*>(ptr(src)));
}

JNI(void, launch)(JNIEnv* env, jclass, jstring jname, jint gx, jint gy, jint gz, jint bx, jint by, jint bz,
                  jint sharedBytes, jbyteArray jargs, jstring jsig) {
    const char* cname = env->GetStringUTFChars(jname, nullptr);
    std::string name(cname);
    env->ReleaseStringUTFChars(jname, cname);
    const char* csig = env->GetStringUTFChars(jsig, nullptr);
    std::string signature(csig);
    env->ReleaseStringUTFChars(jsig, csig);
    auto it = kernels().find(name);
    if (it == kernels().end()) return throw_java(env, "no kernel named " + name);
    const Kernel& k = it->second;
    if (signature != k.signature) {
        return throw_java(env, name + ": arguments (" + signature + ") do not match the kernel's parameters ("
                                   + k.signature + ")");
    }
    jsize n = env->GetArrayLength(jargs);
    if ((size_t) n < k.bytes) return throw_java(env, name + ": parameter buffer too short");
    if (gx < 1 || gy < 1 || gz < 1 || bx < 1 || by < 1 || bz < 1 || (long) bx * by * bz > 1024 || gy > 65535 || gz > 65535) {
        return throw_java(env, name + ": invalid launch shape");
    }
    if (sharedBytes != 0) return throw_java(env, name + ": the kernels use static shared memory only");
    std::vector<char> buf((size_t) n);
    env->GetByteArrayRegion(jargs, 0, n, reinterpret_cast<jbyte*>(buf.data()));
    std::function<void()> bound = k.bind(buf.data());
    hsemu::launch(bound, dim3{(unsigned) gx, (unsigned) gy, (unsigned) gz}, dim3{(unsigned) bx, (unsigned) by, (unsigned) bz},
                  k.barriers);
}
