// Asio and Beast compiled once for the whole project (separate compilation, STYLE.md 4.4).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
