package app

import (
	"context"
	"strings"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/passhash"
)

// AdminPasswordSpecials are the characters of which a cloud license server's
// administrator password holds at least one (SPEC DEV-13).
const AdminPasswordSpecials = "(^*$-+?_&=!%{}/#" //nolint:gosec // a character class, not a credential

// Admin password lengths (SPEC DEV-13).
const (
	adminPasswordMin = 8
	adminPasswordMax = 30
)

// AdminPasswordRules returns a description of every rule the password breaks, in a
// fixed order; none: it is acceptable. Passwords are printable ASCII only: letters,
// digits and the specials above, so that every administrator can type them on any
// keyboard and no two spellings of one character (Unicode forms) exist.
func AdminPasswordRules(pw string) []string {
	var broken []string
	var upper, lower, digit, special, space, other bool
	for _, r := range pw {
		switch {
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= '0' && r <= '9':
			digit = true
		case strings.ContainsRune(AdminPasswordSpecials, r):
			special = true
		case r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u00a0':
			space = true
		default:
			other = true
		}
	}
	if n := len([]rune(pw)); n < adminPasswordMin || n > adminPasswordMax {
		broken = append(broken, "must be 8 to 30 characters long")
	}
	if !upper {
		broken = append(broken, "must contain an upper-case letter (A-Z)")
	}
	if !lower {
		broken = append(broken, "must contain a lower-case letter (a-z)")
	}
	if !digit {
		broken = append(broken, "must contain a digit (0-9)")
	}
	if !special {
		broken = append(broken, "must contain one of ( ^ * $ - + ? _ & = ! % { } / #")
	}
	if space {
		broken = append(broken, "must not contain spaces")
	}
	if other {
		broken = append(broken, "may contain only letters A-Z and a-z, digits and ( ^ * $ - + ? _ & = ! % { } / #")
	}
	return broken
}

// SetServerAdminPassword sets a cloud license server's administrator password
// (SPEC DEV-13), stored hashed; a refusal names every rule the password breaks.
func (a *App) SetServerAdminPassword(ctx context.Context, id, password, confirm string) (Device, error) {
	var v errs.Violations
	for _, rule := range AdminPasswordRules(password) {
		v.Add("password", "%s", rule)
	}
	if confirm != password {
		v.Add("confirm_password", "does not match password")
	}
	if err := v.Err(); err != nil {
		return Device{}, err
	}
	d, err := a.GetDevice(ctx, id)
	if err != nil {
		return Device{}, err
	}
	scope, err := a.scope(ctx)
	if err != nil {
		return Device{}, err
	}
	if !scope.Owns(d) {
		return Device{}, errs.PermissionDenied("device owner")
	}
	if err := writable(d); err != nil {
		return Device{}, err
	}
	if d.Type != TypeServer || d.Deployment != DeploymentCloud {
		return Device{}, errs.FailedPrecondition("NOT_CLOUD_SERVER", "device %s is not a cloud license server; only those have an administrator password", id)
	}
	hash, err := passhash.Hash(passhash.Default, password)
	if err != nil {
		return Device{}, err
	}
	out, err := a.store.SetAdminPassword(ctx, authz.MustTenant(ctx), id, hash)
	if err != nil {
		return Device{}, err
	}
	return a.presentOne(ctx, scope, out)
}
