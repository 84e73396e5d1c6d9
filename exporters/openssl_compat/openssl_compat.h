// See openssl_compat.c: makes civetweb's run-time OpenSSL lookups succeed with OpenSSL 3.

#ifndef CANDOR_EXPORTERS_OPENSSL_COMPAT_OPENSSL_COMPAT_H_
#define CANDOR_EXPORTERS_OPENSSL_COMPAT_OPENSSL_COMPAT_H_

extern "C" int candor_openssl_compat_present(void);

#endif  // CANDOR_EXPORTERS_OPENSSL_COMPAT_OPENSSL_COMPAT_H_
