/*
 * OpenSSL 1.1 compatibility for civetweb's TLS.
 *
 * Debian 12's civetweb 1.15 loads OpenSSL at run time with dlopen("libssl.so") and looks its
 * functions up by name. Every one exists in OpenSSL 3 except SSL_get_peer_certificate, which
 * OpenSSL 3 renamed SSL_get1_peer_certificate (same semantics: the caller owns a reference).
 * This library's soname is "libssl.so" and it depends on the real libssl.so.3: linked into
 * candor, it is loaded at start-up, so civetweb's dlopen("libssl.so") returns it (the dynamic
 * loader matches loaded objects by soname), and lookups find the real OpenSSL functions through
 * its dependency plus the one function defined here.
 */
#include <openssl/ssl.h>

#undef SSL_get_peer_certificate

X509* SSL_get_peer_certificate(const SSL* ssl) { return SSL_get1_peer_certificate(ssl); }

/* Referenced by the HTTP server so the linker keeps this library as a dependency. */
int candor_openssl_compat_present(void) { return 1; }
