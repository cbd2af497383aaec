package authz

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
)

func TestPrincipalSignVerify(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	s, v := NewSigner(priv), NewVerifier(pub)
	p := &commonpb.Principal{TenantId: "t1", UserId: "u1", Permissions: []string{"a"}}
	signed, err := s.Sign(p)
	require.NoError(t, err)
	got, err := v.Verify(signed)
	require.NoError(t, err)
	require.Equal(t, "u1", got.GetUserId())

	body, sig, _ := strings.Cut(signed, ".")
	_, err = v.Verify(body[:len(body)-2] + "AA." + sig)
	require.ErrorIs(t, err, ErrBadPrincipal, "a changed body fails")
	_, err = v.Verify("garbage")
	require.ErrorIs(t, err, ErrBadPrincipal)

	v.now = func() time.Time { return time.Now().Add(PrincipalTTL + time.Second) }
	_, err = v.Verify(signed)
	require.ErrorIs(t, err, ErrBadPrincipal, "an expired principal fails")
}

func FuzzVerify(f *testing.F) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	signed, _ := NewSigner(priv).Sign(&commonpb.Principal{TenantId: "t"})
	f.Add(signed)
	f.Add("a.b")
	v := NewVerifier(pub)
	f.Fuzz(func(t *testing.T, s string) {
		if p, err := v.Verify(s); err == nil && s != signed && p.GetTenantId() != "t" {
			t.Fatalf("accepted a principal nobody signed: %q", s)
		}
	})
}

func TestProducerRolesAreTheOnlyTenantWideOnes(t *testing.T) {
	for id, r := range Roles {
		for _, p := range r.Permissions {
			if ProducerOnly(p) {
				require.True(t, r.TenantWide, "role %s grants producer-only %s", id, p)
			}
		}
	}
}
