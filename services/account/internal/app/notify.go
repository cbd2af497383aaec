package app

import (
	"context"
	"fmt"
	"slices"
	"strings"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/mail"
)

// LicenseFileName is the attachment name license emails use (SPEC PLT-5).
const LicenseFileName = "LicenseFile.lic"

// SendLicenseEmail mails a new fulfillment's license file to the user who activated
// it and to the ship-to addresses chosen at activation (SPEC LIC-1). Activations made
// by a service on nobody's behalf, with no ship-to, send nothing.
func (a *App) SendLicenseEmail(ctx context.Context, tenant string, ev *eventspb.FulfillmentCreated) error {
	u, to, err := a.notifiable(ctx, tenant, ev.GetUserId())
	if err != nil {
		return err
	}
	for _, e := range ev.GetShipToEmails() {
		if !slices.Contains(to, e) {
			to = append(to, e)
		}
	}
	if len(to) == 0 {
		return nil
	}
	greeting := "Hello"
	if u.FirstName != "" || u.LastName != "" {
		greeting = fmt.Sprintf("Hello %s %s", u.FirstName, u.LastName)
	}
	return a.mailer.Send(ctx, mail.Message{
		To:      to,
		Subject: fmt.Sprintf("Your license for %s", ev.GetActivationId()),
		Text: fmt.Sprintf("%s,\n\nyour license for activation ID %s on host %s (%d seat(s)) is attached as %s.\n\nFulfillment: %s\n",
			greeting, ev.GetActivationId(), ev.GetHostId(), ev.GetQuantity(), LicenseFileName, ev.GetFulfillmentId()),
		Attachments: []mail.Attachment{{Filename: LicenseFileName, ContentType: "text/plain; charset=utf-8", Data: []byte(ev.GetLicenseText())}},
	})
}

// SendTrialEmail tells a user that the trials they registered for are ready (SPEC
// ACC-19).
func (a *App) SendTrialEmail(ctx context.Context, tenant string, ev *eventspb.TrialsRegistered) error {
	u, to, err := a.notifiable(ctx, tenant, ev.GetUserId())
	if err != nil || len(to) == 0 {
		return err
	}
	return a.mailer.Send(ctx, mail.Message{
		To:      to,
		Subject: "Your trial registration",
		Text: fmt.Sprintf("Hello %s %s,\n\nyou are registered for the trials %s for account %s.\nTheir entitlements: %s.\n",
			u.FirstName, u.LastName, strings.Join(ev.GetPartNumbers(), ", "), ev.GetAccountId(), strings.Join(ev.GetEntitlementIds(), ", ")),
	})
}

// SendEDeliveryEmail tells the registered contacts of a new entitlement what they
// received (SPEC ENT-3): the order's ship-to addresses, or when it named none the
// administrators of the account it was sold to. An order for nobody yet mails nobody;
// service plans and trials have emails of their own.
func (a *App) SendEDeliveryEmail(ctx context.Context, tenant string, ev *eventspb.EntitlementCreated) error {
	if ev.GetOrigin() != "order" {
		return nil
	}
	to := ev.GetShipToEmails()
	if len(to) == 0 && ev.GetAccountId() != "" {
		var err error
		if to, err = a.store.AdminEmails(ctx, tenant, []string{ev.GetAccountId()}); err != nil {
			return err
		}
	}
	if len(to) == 0 {
		return nil
	}
	return a.mailer.Send(ctx, mail.Message{
		To:      to,
		Subject: fmt.Sprintf("Your entitlement %s (order %s)", ev.GetEntitlementId(), ev.GetOrderId()),
		Text: fmt.Sprintf("Hello,\n\nyour order %s is ready as entitlement %s.\nActivation IDs:\n  %s\n\nUse them to activate your licenses.\n",
			ev.GetOrderId(), ev.GetEntitlementId(), strings.Join(ev.GetActivationIds(), "\n  ")),
	})
}

// SendLineItemEmail sends a line item summary someone asked to email (SPEC ENT-10).
func (a *App) SendLineItemEmail(ctx context.Context, _ string, ev *eventspb.LineItemEmailed) error {
	if len(ev.GetTo()) == 0 {
		return nil
	}
	return a.mailer.Send(ctx, mail.Message{To: ev.GetTo(), Subject: ev.GetSubject(), Text: ev.GetText()})
}

// SendFulfillmentEmail sends a license someone asked to email, attached as
// LicenseFile.lic (SPEC LIC-7).
func (a *App) SendFulfillmentEmail(ctx context.Context, _ string, ev *eventspb.FulfillmentEmailed) error {
	if len(ev.GetTo()) == 0 {
		return nil
	}
	return a.mailer.Send(ctx, mail.Message{
		To: ev.GetTo(), Subject: ev.GetSubject(), Text: ev.GetText(),
		Attachments: []mail.Attachment{{Filename: LicenseFileName, ContentType: "text/plain; charset=utf-8", Data: []byte(ev.GetLicenseText())}},
	})
}

// SendTransferEmail tells the administrators of both accounts that a line item is
// being transferred and waits for the producer's approval (SPEC ENT-7).
func (a *App) SendTransferEmail(ctx context.Context, tenant string, ev *eventspb.LineItemTransferred) error {
	to, err := a.store.AdminEmails(ctx, tenant, []string{ev.GetFromAccountId(), ev.GetToAccountId()})
	if err != nil || len(to) == 0 {
		return err
	}
	return a.mailer.Send(ctx, mail.Message{
		To:      to,
		Subject: fmt.Sprintf("Line item %s is being transferred", ev.GetActivationId()),
		Text: fmt.Sprintf("Hello,\n\nline item %s is moving from account %s to account %s.\nIt is on hold until the producer approves the transfer.\n",
			ev.GetActivationId(), ev.GetFromAccountId(), ev.GetToAccountId()),
	})
}

// SendSplitEmail tells the target account's chosen contact what they received from a
// split (SPEC ENT-8).
func (a *App) SendSplitEmail(ctx context.Context, tenant string, ev *eventspb.LineItemSplit) error {
	u, to, err := a.notifiable(ctx, tenant, ev.GetContactUserId())
	if err != nil || len(to) == 0 {
		return err
	}
	return a.mailer.Send(ctx, mail.Message{
		To:      to,
		Subject: fmt.Sprintf("%d seats for account %s", ev.GetQuantity(), ev.GetToAccountId()),
		Text: fmt.Sprintf("Hello %s %s,\n\n%d seats of line item %s now belong to account %s, as line item %s.\n",
			u.FirstName, u.LastName, ev.GetQuantity(), ev.GetFromActivationId(), ev.GetToAccountId(), ev.GetToActivationId()),
	})
}

// SendRenewalRequest mails a renewal request to the producer's administrators, with
// the requester in copy (SPEC ENT-9).
func (a *App) SendRenewalRequest(ctx context.Context, tenant string, ev *eventspb.RenewalRequested) error {
	producers, err := a.store.AdminEmails(ctx, tenant, []string{HomeAccountID})
	if err != nil {
		return err
	}
	u, cc, err := a.notifiable(ctx, tenant, ev.GetUserId())
	if err != nil {
		return err
	}
	to := append(producers, cc...)
	if len(to) == 0 {
		return nil
	}
	return a.mailer.Send(ctx, mail.Message{
		To:      to,
		Subject: fmt.Sprintf("Renewal request from %s %s", u.FirstName, u.LastName),
		Text: fmt.Sprintf("Hello,\n\n%s %s (%s) asks to renew:\n\n%s\nNote: %s\n",
			u.FirstName, u.LastName, u.Email, ev.GetSummary(), ev.GetNote()),
	})
}

// notifiable loads a user and where their emails go; no recipients when there is
// no such user (a service acted on nobody's behalf, or the user is gone).
func (a *App) notifiable(ctx context.Context, tenant, userID string) (User, []string, error) {
	if userID == "" {
		return User{}, nil, nil
	}
	// Events of one batch (a burst of activations by one user) read the user once.
	u, err := events.Shared(ctx, "user/"+tenant+"/"+userID, func() (User, error) { return a.store.GetUser(ctx, tenant, userID) })
	if errs.IsKind(err, errs.KindNotFound) {
		return User{}, nil, nil
	}
	if err != nil {
		return User{}, nil, err
	}
	to, err := a.recipients(ctx, tenant, u)
	return u, to, err
}

// recipients are where a user's emails go: the user, or for a shared login the
// administrators of its accounts.
func (a *App) recipients(ctx context.Context, tenant string, u User) ([]string, error) {
	if !u.SharedLogin {
		return []string{u.Email}, nil
	}
	accounts := make([]string, 0, len(u.Memberships))
	for _, m := range u.Memberships {
		accounts = append(accounts, m.AccountID)
	}
	return a.store.AdminEmails(ctx, tenant, accounts)
}

// SendReactivationEmail tells a reactivated user (SPEC ACC-9).
func (a *App) SendReactivationEmail(ctx context.Context, tenant string, ev *eventspb.UserReactivated) error {
	u, to, err := a.notifiable(ctx, tenant, ev.GetUserId())
	if err != nil || len(to) == 0 {
		return err
	}
	return a.mailer.Send(ctx, mail.Message{
		To:      to,
		Subject: "Your Tessera user has been reactivated",
		Text: fmt.Sprintf("Hello,\n\nthe user %s (%s %s) has been reactivated by an administrator and can sign in again with its existing password.\n",
			u.Username, u.FirstName, u.LastName),
	})
}
