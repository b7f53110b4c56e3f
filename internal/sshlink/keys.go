package sshlink

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"
)

// KeyPair is an ed25519 key stored as two files: the private key in OpenSSH
// format (mode 0600) and the public key in authorized_keys format (path + ".pub").
type KeyPair struct {
	Path   string
	Signer ssh.Signer
}

// Public returns the public key.
func (k *KeyPair) Public() ssh.PublicKey { return k.Signer.PublicKey() }

// AuthorizedLine returns the public key as one authorized_keys line without
// the trailing newline.
func (k *KeyPair) AuthorizedLine() string {
	b := ssh.MarshalAuthorizedKey(k.Public())
	return string(b[:len(b)-1])
}

// GenerateKey makes a new ed25519 key pair and writes it to path and path.pub.
// The directory is created with mode 0700 when missing.
func GenerateKey(path, comment string) (*KeyPair, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ed25519 key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := writeFile0600(path, pem.EncodeToMemory(block)); err != nil {
		return nil, err
	}
	if err := writeFile0600(path+".pub", ssh.MarshalAuthorizedKey(sshPub)); err != nil {
		return nil, err
	}
	return LoadKey(path)
}

// LoadKey reads a private key written by GenerateKey (or ssh-keygen).
func LoadKey(path string) (*KeyPair, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read ssh key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("parse ssh key %s: %w", path, err)
	}
	return &KeyPair{Path: path, Signer: signer}, nil
}

// ReadPublicKey reads one public key in authorized_keys format.
func ReadPublicKey(path string) (ssh.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read public key: %w", err)
	}
	return ParsePublicKey(b)
}

// ParsePublicKey parses one public key in authorized_keys format.
func ParsePublicKey(b []byte) (ssh.PublicKey, error) {
	pub, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	return pub, nil
}

// writeFile0600 writes data through a temporary file and a rename, so a
// reader never sees half a key, and forces mode 0600 whatever the umask.
func writeFile0600(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".key-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
