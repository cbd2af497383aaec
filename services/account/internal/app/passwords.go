package app

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/mail"
)

// signedInSelf is the user behind a request, signed in as themself (not through an
// impersonated token: nobody changes another user's password by impersonating them).
func signedInSelf(ctx context.Context) (*commonpb.Principal, error) {
	p, _ := authz.FromContext(ctx)
	if p.GetKind() != commonpb.PrincipalKind_PRINCIPAL_KIND_USER || p.GetUserId() == "" || p.GetImpersonated() {
		return nil, errs.PermissionDenied(string(authz.ProfileManage))
	}
	return p, nil
}

// ChangePassword replaces the signed-in user's password (SPEC ACC-8). It also ends
// the "must change" state of a temporary password.
func (a *App) ChangePassword(ctx context.Context, oldPassword, newPassword, confirm string) error {
	p, err := signedInSelf(ctx)
	if err != nil {
		return err
	}
	var v errs.Violations
	v.Require("old_password", oldPassword)
	if reason := passwordProblem(newPassword); reason != "" {
		v.Add("new_password", "%s", reason)
	} else if newPassword == oldPassword {
		v.Add("new_password", "must differ from the old password")
	}
	if confirm != newPassword {
		v.Add("confirm_password", "does not match new_password")
	}
	if err := v.Err(); err != nil {
		return err
	}
	u, err := a.store.GetUser(ctx, p.GetTenantId(), p.GetUserId())
	if err != nil {
		return err
	}
	if !CheckPassword(u.PasswordHash, oldPassword) {
		return errs.InvalidReason("PASSWORD_WRONG", "old_password", "is not the current password")
	}
	hash, err := HashPassword(a.cfg.Password, newPassword)
	if err != nil {
		return err
	}
	return a.store.SetPassword(ctx, p.GetTenantId(), u.ID, hash, false)
}

// normalizeAnswer makes secret answers forgiving of case and spacing.
func normalizeAnswer(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// SetSecretQuestion stores the signed-in user's secret question and the hash of the
// answer, after checking their password.
func (a *App) SetSecretQuestion(ctx context.Context, question, answer, password string) error {
	p, err := signedInSelf(ctx)
	if err != nil {
		return err
	}
	var v errs.Violations
	if n := utf8.RuneCountInString(strings.TrimSpace(question)); n < 5 || n > 200 {
		v.Add("question", "must be 5 to 200 characters long")
	}
	if n := utf8.RuneCountInString(normalizeAnswer(answer)); n < 3 || n > 200 {
		v.Add("answer", "must be 3 to 200 characters long")
	}
	v.Require("password", password)
	if err := v.Err(); err != nil {
		return err
	}
	u, err := a.store.GetUser(ctx, p.GetTenantId(), p.GetUserId())
	if err != nil {
		return err
	}
	if !CheckPassword(u.PasswordHash, password) {
		return errs.InvalidReason("PASSWORD_WRONG", "password", "is not the current password")
	}
	hash, err := HashPassword(a.cfg.Password, normalizeAnswer(answer))
	if err != nil {
		return err
	}
	return a.store.SetSecret(ctx, p.GetTenantId(), u.ID, strings.TrimSpace(question), hash)
}

var errResetRefused = errs.Unauthenticated("RESET_FAILED",
	"the password was not reset: the answer does not match, or this user cannot reset it alone; ask an administrator")

// ResetPassword is the self-service reset: the right secret answer emails a new
// temporary password. Unknown users, wrong answers and users without a secret all
// get the same refusal, and wrong answers count towards the lockout.
func (a *App) ResetPassword(ctx context.Context, tenant, username, answer string) error {
	var v errs.Violations
	v.Require("tenant_id", tenant)
	v.Require("username", username)
	v.Require("secret_answer", answer)
	if err := v.Err(); err != nil {
		return err
	}
	u, err := a.store.UserByUsername(ctx, tenant, username)
	if errs.IsKind(err, errs.KindNotFound) {
		a.checkPassword(a.decoyHash, answer) // the same work as a real check
		return errResetRefused
	}
	if err != nil {
		return err
	}
	if u.SecretAnswerHash == "" || u.Status != UserActive {
		a.checkPassword(a.decoyHash, answer)
		return errResetRefused
	}
	if !a.checkPassword(u.SecretAnswerHash, normalizeAnswer(answer)) {
		if _, err := a.store.RecordFailedLogin(ctx, tenant, u.ID, a.cfg.LockoutAfter); err != nil {
			return err
		}
		return errResetRefused
	}
	return a.issueTemporaryPassword(ctx, tenant, u, "You asked to reset your password.")
}

// ResetUserPassword is the administrator's reset of another user's password.
func (a *App) ResetUserPassword(ctx context.Context, userID string) (User, error) {
	p, _ := authz.FromContext(ctx)
	u, err := a.store.GetUser(ctx, p.GetTenantId(), userID)
	if err != nil {
		return User{}, err
	}
	for _, m := range u.Memberships {
		if !authz.CanActFor(p, m.AccountID) {
			return User{}, errs.NotFound("user", userID)
		}
	}
	if err := a.issueTemporaryPassword(ctx, p.GetTenantId(), u, "An administrator reset your password."); err != nil {
		return User{}, err
	}
	return a.store.GetUser(ctx, p.GetTenantId(), userID)
}

// issueTemporaryPassword sets a generated password that must be changed at the next
// sign-in and emails it. The email is sent directly rather than through an event,
// so that the password never rests in the outbox or the event stream.
func (a *App) issueTemporaryPassword(ctx context.Context, tenant string, u User, why string) error {
	pw := GeneratePassword()
	hash, err := HashPassword(a.cfg.Password, pw)
	if err != nil {
		return err
	}
	if err := a.store.SetPassword(ctx, tenant, u.ID, hash, true); err != nil {
		return err
	}
	return a.mailTemporaryPassword(ctx, tenant, u, pw, why)
}

func (a *App) mailTemporaryPassword(ctx context.Context, tenant string, u User, pw, why string) error {
	to, err := a.recipients(ctx, tenant, u)
	if err != nil {
		return err
	}
	if len(to) == 0 {
		return errs.FailedPrecondition("NO_RECIPIENT", "nobody can receive the temporary password of %s", u.Username)
	}
	err = a.mailer.Send(ctx, mail.Message{
		To:      to,
		Subject: "Your temporary Tessera password",
		Text: fmt.Sprintf("Hello %s %s,\n\n%s\n\nUser name: %s\nTemporary password: %s\n\nYou will be asked to choose a new password when you sign in.\n",
			u.FirstName, u.LastName, why, u.Username, pw),
	})
	if err != nil {
		return errs.Unavailable("EMAIL_FAILED", "the temporary password could not be emailed; try again")
	}
	return nil
}
