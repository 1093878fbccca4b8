# The Debian bookworm packages the project builds on (installed by `make setup`).
# Pitfalls these lines avoid are in docs/development.md ("Dependencies").

# cpprest's U() macro breaks fmt and GoogleTest headers when it is defined: write plain "..." strings.
add_compile_definitions(_TURN_OFF_PLATFORM_STRING)

find_package(Threads REQUIRED)
find_package(OpenSSL 3.0 REQUIRED)
find_package(cpprestsdk 2.10 CONFIG REQUIRED)
find_package(yaml-cpp 0.7 CONFIG REQUIRED)
find_package(spdlog 1.10 CONFIG REQUIRED)
find_package(GTest 1.12 CONFIG REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx>=6.4)
find_library(GMOCK_LIBRARY gmock REQUIRED)

# cpprestsdk::cpprest alone does not link: its TLS code is header-inline Boost.Asio SSL, whose OpenSSL
# symbols the Debian target does not carry. Every C++ target that uses the HTTP client links this.
add_library(wo_cpprest INTERFACE)
target_link_libraries(wo_cpprest INTERFACE cpprestsdk::cpprest OpenSSL::SSL OpenSSL::Crypto Threads::Threads)
