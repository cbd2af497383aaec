// Package authz carries the signed principal between the gateway and the services and
// evaluates permissions, account scope and tenant for every RPC.
package authz

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// MetadataKey is the gRPC metadata key carrying the signed principal.
const MetadataKey = "x-tessera-principal"

// PrincipalTTL bounds how long a signed principal is accepted after it was minted.
const PrincipalTTL = 2 * time.Minute

// Signer mints signed principals. The gateway holds one; so does every service, for
// the service principals it uses when calling a neighbour.
type Signer struct {
	key ed25519.PrivateKey
	now func() time.Time
}

// NewSigner returns a signer for the given private key.
func NewSigner(key ed25519.PrivateKey) *Signer {
	return &Signer{key: key, now: time.Now}
}

// Sign serializes and signs p, setting its expiry; the result is a metadata value.
func (s *Signer) Sign(p *commonpb.Principal) (string, error) {
	c := proto.CloneOf(p)
	c.ExpireTime = timestamppb.New(s.now().Add(PrincipalTTL))
	body, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		return "", err
	}
	sig := ed25519.Sign(s.key, body)
	return base64.RawURLEncoding.EncodeToString(body) + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// Verifier checks signed principals with the public key. It remembers principals it
// verified, keyed by their exact signed bytes, so a caller presenting the same
// principal again costs a map lookup instead of a signature check; expiry is still
// checked on every use.
type Verifier struct {
	key ed25519.PublicKey
	now func() time.Time

	mu       sync.Mutex
	verified map[string]*commonpb.Principal
}

// verifiedCap bounds the memory of verified principals; the map starts afresh when
// full (entries expire within PrincipalTTL anyway).
const verifiedCap = 50_000

// NewVerifier returns a verifier for the given public key.
func NewVerifier(key ed25519.PublicKey) *Verifier {
	return &Verifier{key: key, now: time.Now, verified: map[string]*commonpb.Principal{}}
}

// ErrBadPrincipal is returned for any principal that is malformed, forged or expired.
var ErrBadPrincipal = errors.New("invalid principal")

// Verify parses a metadata value and returns the principal if its signature holds and
// it has not expired.
func (v *Verifier) Verify(value string) (*commonpb.Principal, error) {
	v.mu.Lock()
	p, ok := v.verified[value]
	v.mu.Unlock()
	if !ok {
		var err error
		if p, err = v.verify(value); err != nil {
			return nil, err
		}
		v.mu.Lock()
		if len(v.verified) >= verifiedCap {
			v.verified = map[string]*commonpb.Principal{}
		}
		v.verified[value] = p
		v.mu.Unlock()
	}
	if v.now().After(p.GetExpireTime().AsTime()) {
		return nil, ErrBadPrincipal
	}
	return p, nil
}

func (v *Verifier) verify(value string) (*commonpb.Principal, error) {
	bodyB64, sigB64, ok := strings.Cut(value, ".")
	if !ok {
		return nil, ErrBadPrincipal
	}
	body, err := base64.RawURLEncoding.DecodeString(bodyB64)
	if err != nil {
		return nil, ErrBadPrincipal
	}
	sig, err := base64.RawURLEncoding.DecodeString(sigB64)
	if err != nil || !ed25519.Verify(v.key, body, sig) {
		return nil, ErrBadPrincipal
	}
	p := &commonpb.Principal{}
	if err := proto.Unmarshal(body, p); err != nil {
		return nil, ErrBadPrincipal
	}
	if p.GetExpireTime() == nil {
		return nil, ErrBadPrincipal
	}
	return p, nil
}

type principalKey struct{}

// WithPrincipal stores a verified principal in the context.
func WithPrincipal(ctx context.Context, p *commonpb.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the verified principal of the request, if any.
func FromContext(ctx context.Context) (*commonpb.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*commonpb.Principal)
	return p, ok
}

// Outgoing attaches a signed principal to an outgoing gRPC context.
func Outgoing(ctx context.Context, signed string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, MetadataKey, signed)
}

// Has reports whether p holds permission perm.
func Has(p *commonpb.Principal, perm Permission) bool {
	return slices.Contains(p.GetPermissions(), string(perm))
}

// CanActFor reports whether p may act for the account (tenant-wide principals may act
// for every account of their tenant).
func CanActFor(p *commonpb.Principal, accountID string) bool {
	return p.GetTenantWide() || slices.Contains(p.GetAccountIds(), accountID)
}

// LineItemRef names a line item (or, with no ActivationID, a whole entitlement) and
// its owner, for visibility checks.
type LineItemRef struct {
	AccountID, EntitlementID, ActivationID, ProductLineID string
}

// CanSeeLineItem reports whether p may see the line item (or entitlement) and its
// fulfillments. A principal signed in with an entitlement ID or activation ID sees just
// that, whoever owns it (SPEC ACC-18); everyone else goes by account.
func CanSeeLineItem(p *commonpb.Principal, li LineItemRef) bool {
	if li.ActivationID != "" && !InProductLines(p, li.ProductLineID) {
		return false
	}
	if p.GetKind() == commonpb.PrincipalKind_PRINCIPAL_KIND_ENTITLEMENT_KEY {
		if e := p.GetScopeEntitlementId(); e != "" {
			return e == li.EntitlementID
		}
		return li.ActivationID != "" && p.GetScopeActivationId() == li.ActivationID
	}
	return CanActFor(p, li.AccountID)
}

// InProductLines reports whether a principal limited to product lines (SPEC ACC-16)
// may see a line item of a product in productLine ("" for none); tenant-wide and
// unlimited principals see every line.
func InProductLines(p *commonpb.Principal, productLine string) bool {
	return p.GetTenantWide() || len(p.GetProductLines()) == 0 || slices.Contains(p.GetProductLines(), productLine)
}

// ForTenant returns a context that background work (reconcilers, consumers) uses to
// call neighbour services for one tenant, as the service itself.
func ForTenant(ctx context.Context, tenantID string) context.Context {
	return WithPrincipal(ctx, &commonpb.Principal{Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_SERVICE, TenantId: tenantID, TenantWide: true})
}

// MustTenant returns the tenant of the request; the interceptor guarantees one for
// every RPC that is not Public or operator-only.
func MustTenant(ctx context.Context) string {
	p, _ := FromContext(ctx)
	return p.GetTenantId()
}
