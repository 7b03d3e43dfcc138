package keys

import "os"

func lookupPIN() (string, bool) { return os.LookupEnv(PINEnv) }
