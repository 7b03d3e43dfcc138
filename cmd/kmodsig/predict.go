package main

import (
	"slices"

	"github.com/posener/complete"

	"github.com/kmodsig/kmodsig/formats"
)

// predictors are the shell completions of flag values, by the predictor tag of the flag:
// the format ids kmodsig writes (every one for --from, and none), hash names, variants and kernel models as the drivers list them.
func predictors() map[string]complete.Predictor {
	var ids, targets, variants, kernels []string
	for _, d := range formats.All() {
		ids = append(ids, d.ID())
		if len(d.Info().KeyTypes) > 0 { // not read-only (pgp-trailer)
			targets = append(targets, d.ID())
		}
		for _, v := range d.Info().Variants {
			if !slices.Contains(variants, v) {
				variants = append(variants, v)
			}
		}
	}
	for _, k := range formats.KnownKernels() {
		if k == "linux-X.Y" {
			// Any mainline version: the ones whose rules differ (see pkcs7sig and x509sig).
			kernels = append(kernels, "linux-3.7", "linux-4.3", "linux-5.4", "linux-5.13", "linux-6.1", "linux-6.7")
			continue
		}
		kernels = append(kernels, k)
	}
	return map[string]complete.Predictor{
		"format":  complete.PredictSet(targets...),
		"from":    complete.PredictSet(append(ids, "none")...),
		"hash":    complete.PredictSet(formats.HashNames()...),
		"variant": complete.PredictSet(variants...),
		"kernel":  complete.PredictSet(kernels...),
	}
}
