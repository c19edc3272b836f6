// data_error.hpp - the one exception type of cagr_data: bad files and bad rows, with a message
// that names the file (and line or array) so the user can find what is wrong.
#ifndef CAGR_DATA_DATA_ERROR_HPP_
#define CAGR_DATA_DATA_ERROR_HPP_

#include <stdexcept>
#include <string>

namespace cagr::data {

class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace cagr::data

#endif  // CAGR_DATA_DATA_ERROR_HPP_
