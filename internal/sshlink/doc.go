// Package sshlink is the channel between the kcovlab host and its guest:
// an SSH server that runs inside the guest (and, unchanged, inside unit tests)
// and the host's client that waits for it to answer and runs commands.
//
// Both sides use golang.org/x/crypto/ssh. Keys are ed25519: the guest's host
// key is made per image and pinned by the client; the client key is made per
// run and handed to the guest on the kernel command line. Nothing here needs
// QEMU or a kernel: the tests run the real server in-process on loopback.
package sshlink
