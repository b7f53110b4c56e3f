// Package house holds the test that keeps kcovlab's package graph in the
// shape README's Layout table draws: cmd/kcovlab on top, then one package
// per verb (bisect, compare, ask, nightly, mutants, export), then runs (many
// runs), then lab (one run), then everything lab is made of. Arrows only
// point down: no verb imports another verb, runs imports no verb, lab
// imports neither, and nothing below lab imports lab or anything above it.
// Only lab reaches the VM (internal/vm), the SSH channel
// (internal/sshlink) and the guest image (images); packages below lab
// (the image's own guest side) may use them as parts.
//
// It has no code: go test ./internal/house/ parses every package's
// imports (test files included) and needs nothing on the host.
package house
