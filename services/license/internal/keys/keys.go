// Package keys seals signing keys at rest. The local sealer uses AES-256-GCM with a
// master key from configuration; a KMS-backed sealer can implement the same interface.
package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// Sealer encrypts and decrypts private key material. additional binds a ciphertext
// to its row (tenant and key ID) so sealed keys cannot be swapped between rows.
type Sealer interface {
	Seal(plaintext, additional []byte) ([]byte, error)
	Open(ciphertext, additional []byte) ([]byte, error)
}

// Local is an AES-256-GCM sealer.
type Local struct{ aead cipher.AEAD }

// NewLocal returns a sealer for a 32-byte master key.
func NewLocal(master []byte) (*Local, error) {
	if len(master) != 32 {
		return nil, fmt.Errorf("keys: the master key must be 32 bytes, got %d", len(master))
	}
	block, err := aes.NewCipher(master)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Local{aead: aead}, nil
}

// Seal encrypts plaintext with a random nonce prepended.
func (l *Local) Seal(plaintext, additional []byte) ([]byte, error) {
	nonce := make([]byte, l.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return l.aead.Seal(nonce, nonce, plaintext, additional), nil
}

// Open decrypts a sealed value.
func (l *Local) Open(ciphertext, additional []byte) ([]byte, error) {
	n := l.aead.NonceSize()
	if len(ciphertext) < n {
		return nil, errors.New("keys: sealed value too short")
	}
	return l.aead.Open(nil, ciphertext[:n], ciphertext[n:], additional)
}
