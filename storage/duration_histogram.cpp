#include "storage/duration_histogram.hpp"

namespace nidan::storage {

metric_sample sample_of(const histogram& h, std::string name, std::string help, std::string labels) {
    return {std::move(name), "histogram", std::move(help), h.sum(), std::move(labels), h.buckets()};
}

}  // namespace nidan::storage
