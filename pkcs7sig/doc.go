// Package pkcs7sig implements the `pkcs7` module-signature format (Linux 4.3 – today).
package pkcs7sig
