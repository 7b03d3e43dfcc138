package conv

// Every driver registers itself with package formats when imported; conv imports them all,
// so every command and every batch knows every format.
import (
	_ "github.com/kmodsig/kmodsig/digsig"
	_ "github.com/kmodsig/kmodsig/elfsig"
	_ "github.com/kmodsig/kmodsig/gpgsig"
	_ "github.com/kmodsig/kmodsig/pkcs7sig"
	_ "github.com/kmodsig/kmodsig/x509sig"
)
