package app

import (
	"context"
	"fmt"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/mail"
)

// LicenseFileName is the attachment name license emails use (SPEC PLT-5).
const LicenseFileName = "LicenseFile.lic"

// SendLicenseEmail mails a new fulfillment's license file to the user who activated
// it. Activations made by a service on nobody's behalf send nothing.
func (a *App) SendLicenseEmail(ctx context.Context, tenant string, ev *eventspb.FulfillmentCreated) error {
	if ev.GetUserId() == "" {
		return nil
	}
	u, err := a.store.GetUser(ctx, tenant, ev.GetUserId())
	if errs.IsKind(err, errs.KindNotFound) {
		return nil // the user is gone; nobody to tell
	}
	if err != nil {
		return err
	}
	return a.mailer.Send(mail.Message{
		To:      []string{u.Email},
		Subject: fmt.Sprintf("Your license for %s", ev.GetActivationId()),
		Text: fmt.Sprintf("Hello %s %s,\n\nyour license for activation ID %s on host %s (%d seat(s)) is attached as %s.\n\nFulfillment: %s\n",
			u.FirstName, u.LastName, ev.GetActivationId(), ev.GetHostId(), ev.GetQuantity(), LicenseFileName, ev.GetFulfillmentId()),
		Attachments: []mail.Attachment{{Filename: LicenseFileName, ContentType: "text/plain; charset=utf-8", Data: []byte(ev.GetLicenseText())}},
	})
}
