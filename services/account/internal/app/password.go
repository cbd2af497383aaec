package app

import "github.com/tessera-dev/tessera/services/platform/passhash"

// PasswordParams are the argon2id cost parameters (memory in KiB).
type PasswordParams = passhash.Params

// DefaultPasswordParams follow current OWASP guidance for argon2id.
var DefaultPasswordParams = passhash.Default

// HashPassword returns an encoded argon2id hash with its parameters and salt.
func HashPassword(p PasswordParams, password string) (string, error) {
	return passhash.Hash(p, password)
}

// CheckPassword compares password with an encoded hash in constant time.
func CheckPassword(encoded, password string) bool { return passhash.Check(encoded, password) }

// GeneratePassword returns a random password of 20 URL-safe characters.
func GeneratePassword() string { return passhash.Generate() }
