module github.com/kmodsig/kmodsig

go 1.26.8

require (
	github.com/ProtonMail/go-crypto v1.5.2
	github.com/youmark/pkcs8 v0.0.0-20240726163527-a2c0da244d78
	golang.org/x/crypto v0.58.0
)

require (
	github.com/cloudflare/circl v1.6.3 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
