package app

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// PublicKeyPEM renders a key's public half as PKIX PEM.
func PublicKeyPEM(k SigningKey) (string, error) {
	var pub any
	switch k.Algorithm {
	case AlgEd25519:
		pub = ed25519.PublicKey(k.Public)
	case AlgES256:
		ec, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), k.Public)
		if err != nil {
			return "", err
		}
		pub = ec
	default:
		return "", fmt.Errorf("unknown algorithm %q", k.Algorithm)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}
