package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/mail"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/ids"
)

// ServicePlans is what partner customer creation needs of the entitlement service.
type ServicePlans interface {
	// Check returns NotFound for an unknown service plan.
	Check(ctx context.Context, planID string) error
	// Assign gives the account units of the plan from start (now when nil),
	// idempotently per request ID, and returns the entitlement ID.
	Assign(ctx context.Context, planID, accountID string, units int64, start *time.Time, requestID string) (string, error)
}

// PlanUnits asks for units of a service plan.
type PlanUnits struct {
	ServicePlanID string
	Units         int64
	StartTime     *time.Time
}

// NewPartnerCustomer is what a partner gives to create a customer (SPEC ACC-15).
type NewPartnerCustomer struct {
	Parent, AccountID, AccountName, Company, City, State string
	Admin                                                Newcomer
	EmergencyContactEmail                                string
	// SendEmailTime is when the account-creation email goes out; zero means now.
	SendEmailTime time.Time
	Plans         []PlanUnits
	RequestID     string
}

// PartnerCustomer is a created customer: the account, its administrator, the
// entitlements of its service plans and when its account-creation email goes out.
type PartnerCustomer struct {
	Account        Account
	Admin          User
	EntitlementIDs []string
	EmailTime      time.Time
}

// Scheduled email kinds.
const EmailAccountCreated = "account_created"

// ScheduledEmail is an email job due at SendAt.
type ScheduledEmail struct {
	ID                                uuid.UUID
	TenantID, Kind, UserID, AccountID string
	SendAt                            time.Time
	Attempts                          int
}

// maxEmailDelay bounds how far ahead an email may be scheduled.
const maxEmailDelay = 366 * 24 * time.Hour

// CreatePartnerCustomer creates a customer account under one of the caller's partner
// accounts with its administrator and the account-creation email job, in one
// transaction, then assigns the service plans. The administrator gets no password
// until the email goes out with a temporary one, so none rests anywhere meanwhile.
// Plan assignments are keyed by the account, so a retried request assigns nothing
// twice.
func (a *App) CreatePartnerCustomer(ctx context.Context, in NewPartnerCustomer) (PartnerCustomer, error) {
	p, _ := authz.FromContext(ctx)
	tenant := p.GetTenantId()
	var v errs.Violations
	v.Require("parent", in.Parent)
	v.Require("account_name", in.AccountName)
	if len(in.AccountName) > 200 || len(in.Company) > 200 {
		v.Add("account_name", "account name and company are at most 200 characters")
	}
	accountID := ids.Resolve(&v, "account_id", tenant, "ACC", in.AccountID, in.RequestID)
	admin := in.Admin.user(AccountCustomer, Membership{AccountID: accountID, Roles: []string{authz.RoleCustomerAdmin.ID}})
	if !username.MatchString(admin.Username) {
		v.Add("admin_username", "must be 3-64 letters, digits or . _ @ + -, starting with a letter or digit")
	}
	v.Require("admin_first_name", admin.FirstName)
	v.Require("admin_last_name", admin.LastName)
	if _, err := mail.ParseAddress(admin.Email); err != nil {
		v.Add("admin_email", "is not an email address")
	}
	if in.EmergencyContactEmail != "" {
		if _, err := mail.ParseAddress(in.EmergencyContactEmail); err != nil {
			v.Add("emergency_contact_email", "is not an email address")
		}
	}
	now := a.now()
	sendAt := in.SendEmailTime
	switch {
	case sendAt.IsZero():
		sendAt = now
	case sendAt.Before(now.Add(-time.Minute)):
		v.Add("send_email_time", "must not be in the past")
	case sendAt.After(now.Add(maxEmailDelay)):
		v.Add("send_email_time", "must be within a year")
	}
	for i, pu := range in.Plans {
		field := fmt.Sprintf("service_plans[%d]", i)
		v.Require(field+".service_plan", pu.ServicePlanID)
		if pu.Units <= 0 || pu.Units > 1_000_000_000 {
			v.Add(field+".units", "must be between 1 and 1000000000")
		}
	}
	if err := v.Err(); err != nil {
		return PartnerCustomer{}, err
	}
	if !authz.Has(p, authz.UsersManage) {
		return PartnerCustomer{}, errs.PermissionDenied(string(authz.UsersManage))
	}
	if len(in.Plans) > 0 && !authz.Has(p, authz.ServicePlansAssign) {
		return PartnerCustomer{}, errs.PermissionDenied(string(authz.ServicePlansAssign))
	}
	parent, err := a.GetAccount(ctx, in.Parent)
	if errs.IsKind(err, errs.KindNotFound) || (err == nil && parent.Type != AccountPartner) {
		return PartnerCustomer{}, errs.Invalid("parent", "is not a partner account you manage")
	}
	if err != nil {
		return PartnerCustomer{}, err
	}
	for i, pu := range in.Plans {
		if err := a.plans.Check(ctx, pu.ServicePlanID); errs.IsKind(err, errs.KindNotFound) {
			return PartnerCustomer{}, errs.Invalid(fmt.Sprintf("service_plans[%d].service_plan", i), "service plan %q does not exist", pu.ServicePlanID)
		} else if err != nil {
			return PartnerCustomer{}, err
		}
	}

	acc := Account{
		ID: accountID, DisplayName: in.AccountName, Company: in.Company, Type: AccountCustomer, VisibleToPartners: true,
		Address: Address{City: in.City, State: in.State}, EmergencyContactEmail: in.EmergencyContactEmail, RequestID: in.RequestID,
	}
	admin.ID = ids.ForRequest(tenant, "USR", "customer-admin:"+accountID)
	admin.Status = UserActive
	admin.MustChangePassword = true
	admin.PasswordHash = "!" // no password until the account-creation email sets one
	out, created, err := a.store.CreatePartnerCustomer(ctx, tenant, acc, in.Parent, admin, sendAt)
	if err != nil {
		return PartnerCustomer{}, err
	}
	for i, pu := range in.Plans {
		key := fmt.Sprintf("customer-plan:%s:%d", out.Account.ID, i)
		ent, err := a.plans.Assign(ctx, pu.ServicePlanID, out.Account.ID, pu.Units, pu.StartTime, key)
		if err != nil {
			return PartnerCustomer{}, err
		}
		out.EntitlementIDs = append(out.EntitlementIDs, ent)
	}
	if created {
		a.wakeEmails()
	}
	return out, nil
}

// wakeEmails tells the email worker to look for due emails now.
func (a *App) wakeEmails() {
	select {
	case a.emailWake <- struct{}{}:
	default:
	}
}

// emailLease is how long a worker holds an email it is sending; a worker that dies
// meanwhile leaves it to be taken again after that.
const emailLease = time.Minute

// RunScheduledEmails sends due emails until ctx ends, looking every poll interval
// and whenever a new email is stored. Delivery is at least once: a crash between
// sending and recording it sends the email again after the lease.
func (a *App) RunScheduledEmails(ctx context.Context, poll time.Duration, log *slog.Logger) error {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if err := a.planDigests(ctx); err != nil && ctx.Err() == nil {
			log.ErrorContext(ctx, "planning expiring-entitlement digests", "err", err)
		}
		for {
			jobs, err := a.store.LeaseDueEmails(ctx, emailLease, 20)
			if err != nil && ctx.Err() == nil {
				log.ErrorContext(ctx, "leasing scheduled emails", "err", err)
			}
			for _, j := range jobs {
				a.sendScheduled(ctx, j, log)
			}
			if len(jobs) < 20 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-a.emailWake:
		}
	}
}

func (a *App) sendScheduled(ctx context.Context, j ScheduledEmail, log *slog.Logger) {
	send := a.sendAccountCreated
	if j.Kind == EmailExpiringDigest {
		send = a.sendDigest
	}
	err := send(ctx, j)
	if ctx.Err() != nil {
		return // shutting down: the lease runs out and another round sends it
	}
	if err == nil || errs.IsKind(err, errs.KindNotFound) { // a deleted user needs no email
		err = a.store.MarkEmailSent(ctx, j.ID)
		if err != nil {
			log.ErrorContext(ctx, "recording a sent email", "err", err, "email", j.ID)
		}
		return
	}
	// Back off: 1, 4, 9 … minutes, at most an hour.
	wait := min(time.Duration(j.Attempts*j.Attempts)*time.Minute, time.Hour)
	log.WarnContext(ctx, "scheduled email failed", "err", err, "email", j.ID, "attempts", j.Attempts)
	if err := a.store.MarkEmailFailed(ctx, j.ID, err.Error(), a.now().Add(wait)); err != nil {
		log.ErrorContext(ctx, "recording a failed email", "err", err, "email", j.ID)
	}
}

// sendAccountCreated gives the administrator a temporary password and mails it
// with the news of the account.
func (a *App) sendAccountCreated(ctx context.Context, j ScheduledEmail) error {
	ctx = authz.ForTenant(ctx, j.TenantID)
	u, err := a.store.GetUser(ctx, j.TenantID, j.UserID)
	if err != nil {
		return err
	}
	acc, err := a.store.GetAccount(ctx, j.TenantID, j.AccountID)
	if err != nil {
		return err
	}
	return a.issueTemporaryPassword(ctx, j.TenantID, u, fmt.Sprintf("Your account %q (%s) has been created, and you are its administrator.", acc.DisplayName, acc.ID))
}
