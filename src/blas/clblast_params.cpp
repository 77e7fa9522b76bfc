// The one C++ file: CLBlast's RetrieveParameters exists only in its C++ API.
// The first answer per (device, kernel) is remembered before spikecl
// overrides anything on that device, so "CLBlast's own parameters" stay
// available for A/B measurements and reports. No exception leaves this file.
#include <clblast.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "blas/clblast_params.h"

namespace {
using params = std::vector<std::pair<std::string, size_t>>;
std::mutex lock;
std::map<std::pair<cl_device_id, std::string>, params> remembered;

void copy_name(char *dst, size_t cap, const std::string &src)
{
    size_t n = std::min(cap - 1, src.size());
    src.copy(dst, n);
    dst[n] = '\0';
}
} // namespace

extern "C" int spk__clblast_defaults(cl_device_id device, const char *kernel, spk_tune_params *out)
{
    try {
        std::lock_guard<std::mutex> guard(lock);
        auto key = std::make_pair(device, std::string(kernel));
        auto it = remembered.find(key);
        if (it == remembered.end()) {
            std::unordered_map<std::string, size_t> got;
            auto s = clblast::RetrieveParameters(device, kernel, clblast::Precision::kSingle, got);
            if (s != clblast::StatusCode::kSuccess)
                return static_cast<int>(s);
            params sorted(got.begin(), got.end());
            std::sort(sorted.begin(), sorted.end());
            it = remembered.emplace(key, std::move(sorted)).first;
        }
        if (out->n + it->second.size() > SPK_TUNE_MAX_PARAMS)
            return 1;
        for (const auto &p : it->second) {
            spk_tune_param *d = &out->p[out->n++];
            copy_name(d->kernel, sizeof d->kernel, kernel);
            copy_name(d->name, sizeof d->name, p.first);
            d->value = p.second;
        }
        return 0;
    } catch (...) {
        return static_cast<int>(clblast::StatusCode::kUnknownError);
    }
}
