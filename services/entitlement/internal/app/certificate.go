package app

import (
	"context"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
)

// Certificate renders an entitlement the caller may see as a plain-text document
// (SPEC ENT-10).
func (a *App) Certificate(ctx context.Context, id string) (string, error) {
	e, err := a.GetEntitlement(ctx, id)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ENTITLEMENT CERTIFICATE\n\nEntitlement:  %s\nOrder:        %s\n", e.ID, e.OrderID)
	owner := e.AccountID
	if owner == "" {
		owner = "(not registered yet)"
	}
	fmt.Fprintf(&b, "Account:      %s\nIssued:       %s\n", owner, e.CreateTime.UTC().Format(time.DateOnly))
	for _, li := range e.LineItems {
		b.WriteString("\n")
		writeLineItem(&b, li)
	}
	return b.String(), nil
}

func day(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format(time.DateOnly)
}

// writeLineItem is one line item's part of a certificate or email.
func writeLineItem(b *strings.Builder, li LineItem) {
	fmt.Fprintf(b, "Activation ID: %s\n  Product:     %s (license model %s)\n  Type:        %s\n", li.ActivationID, li.ProductID, li.LicenseModelID, li.Type)
	if li.Quantity == 0 {
		fmt.Fprintf(b, "  Quantity:    0 (cancelled or refunded)\n")
	} else {
		fmt.Fprintf(b, "  Quantity:    %d, of which %d available\n", li.Quantity, li.Available())
	}
	start := day(li.StartTime, "now")
	if li.StartAtFirstActivation && li.StartTime == nil {
		start = "at first activation"
	}
	expires := day(li.ExpireTime, "never")
	if li.ExpireTime == nil && li.ExpireAfter != "" {
		expires = li.ExpireAfter + " after the start"
	}
	fmt.Fprintf(b, "  Starts:      %s\n  Expires:     %s\n", start, expires)
	if li.MaintenanceExpireTime != nil {
		fmt.Fprintf(b, "  Maintenance: until %s\n", day(li.MaintenanceExpireTime, ""))
	}
}

// maxRecipients bounds one line item email.
const maxRecipients = 20

// EmailLineItem has a line item's summary emailed to the addresses, through the
// outbox (the account service's notifier sends it).
func (a *App) EmailLineItem(ctx context.Context, activationID string, to []string) (uuid.UUID, error) {
	var v errs.Violations
	if len(to) == 0 || len(to) > maxRecipients {
		v.Add("to", "name 1 to %d addresses", maxRecipients)
	}
	for i, addr := range to {
		if p, err := mail.ParseAddress(addr); err != nil || p.Address != addr {
			v.Add(fieldIndex("to", i, ""), "is not a plain email address")
		} else if slices.Contains(to[:i], addr) {
			v.Add(fieldIndex("to", i, ""), "is listed twice")
		}
	}
	if err := v.Err(); err != nil {
		return uuid.Nil, err
	}
	li, err := a.GetLineItem(ctx, activationID)
	if err != nil {
		return uuid.Nil, err
	}
	var b strings.Builder
	b.WriteString("Hello,\n\nhere is the line item you were sent:\n\n")
	writeLineItem(&b, li)
	return a.store.RecordLineItemEmail(ctx, authz.MustTenant(ctx), activationID, to, "Your line item "+activationID, b.String())
}
