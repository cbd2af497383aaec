package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // time zones are checked even where the system has no zoneinfo

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/filter"
)

var locale = regexp.MustCompile(`^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8}){0,3}$`)

// UserPatch holds the fields UpdateUser changes; nil fields stay.
type UserPatch struct {
	FirstName, LastName, Email, Phone, Fax, TimeZone, Locale *string
	Address                                                  *Address
	MarketingOptIn, ExpiringEmail, CanLogin, SharedLogin     *bool
	Memberships                                              *[]Membership
	ProductLines                                             *[]string
}

// checkProfile validates profile fields of a new or changed user.
// The fields are named under prefix ("user." or "person.").
func checkProfile(v *errs.Violations, prefix string, u User) {
	v.Require(prefix+"first_name", u.FirstName)
	v.Require(prefix+"last_name", u.LastName)
	if _, err := mail.ParseAddress(u.Email); err != nil {
		v.Add(prefix+"email", "is not an email address")
	}
	if u.TimeZone != "" {
		if _, err := time.LoadLocation(u.TimeZone); err != nil {
			v.Add(prefix+"time_zone", "is not an IANA time zone like Europe/Berlin")
		}
	}
	if u.Locale != "" && !locale.MatchString(u.Locale) {
		v.Add(prefix+"locale", "is not a language tag like de-DE")
	}
	if len(u.Phone) > 40 || len(u.Fax) > 40 {
		v.Add(prefix+"phone", "phone and fax are at most 40 characters")
	}
}

// checkMemberships validates memberships against the accounts: at least one, every
// role known, every account visible to the caller and of the user's type; producer
// roles only in the producer account, granted by tenant-wide callers (SPEC ACC-6).
func (a *App) checkMemberships(ctx context.Context, userType string, ms []Membership) (string, error) {
	if len(ms) == 0 {
		return "", errs.Invalid("user.memberships", "a user belongs to at least one account")
	}
	p, _ := authz.FromContext(ctx)
	roles, err := a.roles(ctx, p.GetTenantId())
	if err != nil {
		return "", err
	}
	for i, m := range ms {
		field := fmt.Sprintf("user.memberships[%d]", i)
		if len(m.Roles) == 0 {
			return "", errs.Invalid(field+".roles", "at least one role is required")
		}
		for _, r := range m.Roles {
			role, ok := roles[r]
			if !ok {
				return "", errs.Invalid(field+".roles", "unknown role %q", r)
			}
			if !canGrant(p, p.GetTenantWide(), role) {
				return "", errs.Invalid(field+".roles", "role %q holds permissions you do not have", r)
			}
			if role.TenantWide && m.AccountID != HomeAccountID {
				return "", errs.Invalid(field+".roles", "tenant-wide role %q is only granted in the producer account", r)
			}
		}
		if !authz.CanActFor(p, m.AccountID) {
			return "", errs.Invalid(field+".account", "account %q does not exist", m.AccountID)
		}
		acc, err := a.store.GetAccount(ctx, p.GetTenantId(), m.AccountID)
		if errs.IsKind(err, errs.KindNotFound) {
			return "", errs.Invalid(field+".account", "account %q does not exist", m.AccountID)
		}
		if err != nil {
			return "", err
		}
		if slices.Contains(m.Roles, authz.RoleProducerAdmin.ID) && (acc.Type != AccountProducer || !p.GetTenantWide()) {
			return "", errs.Invalid(field+".roles", "role producer_admin is only granted in the producer account")
		}
		if userType == "" {
			userType = acc.Type
		} else if acc.Type != userType {
			return "", errs.Invalid(field+".account", "a %s user moves only between %s accounts", userType, userType)
		}
	}
	return userType, nil
}

// UpdateUser changes a user's profile or memberships; the user name never changes.
// The caller must act for every account the user is and will be in.
func (a *App) UpdateUser(ctx context.Context, id string, patch UserPatch) (User, error) {
	p, _ := authz.FromContext(ctx)
	current, err := a.store.GetUser(ctx, p.GetTenantId(), id)
	if err != nil {
		return User{}, err
	}
	for _, m := range current.Memberships {
		if !authz.CanActFor(p, m.AccountID) {
			return User{}, errs.NotFound("user", id)
		}
	}
	if patch.Memberships != nil {
		if _, err := a.checkMemberships(ctx, current.Type, *patch.Memberships); err != nil {
			return User{}, err
		}
	}
	if patch.ProductLines != nil {
		if err := a.checkProductLines(ctx, *patch.ProductLines); err != nil {
			return User{}, err
		}
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	setBool := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	return a.store.UpdateUser(ctx, p.GetTenantId(), id, func(u *User) error {
		set(&u.FirstName, patch.FirstName)
		set(&u.LastName, patch.LastName)
		set(&u.Email, patch.Email)
		set(&u.Phone, patch.Phone)
		set(&u.Fax, patch.Fax)
		set(&u.TimeZone, patch.TimeZone)
		set(&u.Locale, patch.Locale)
		if patch.Address != nil {
			u.Address = *patch.Address
		}
		setBool(&u.MarketingOptIn, patch.MarketingOptIn)
		setBool(&u.ExpiringEmail, patch.ExpiringEmail)
		setBool(&u.CanLogin, patch.CanLogin)
		setBool(&u.SharedLogin, patch.SharedLogin)
		if patch.Memberships != nil {
			u.Memberships = *patch.Memberships
		}
		if patch.ProductLines != nil {
			u.ProductLines = *patch.ProductLines
		}
		var v errs.Violations
		checkProfile(&v, "user.", *u)
		return v.Err()
	})
}

// ListAdministrators lists a page of the administrators of the caller's accounts
// (ACC-13), by account, then name.
func (a *App) ListAdministrators(ctx context.Context, pageSize int, pageToken string) ([]Administrator, string, error) {
	size, afterKey, err := page(pageSize, pageToken)
	if err != nil {
		return nil, "", err
	}
	after, err := administratorCursor(afterKey)
	if err != nil {
		return nil, "", err
	}
	p, _ := authz.FromContext(ctx)
	list, err := a.store.Administrators(ctx, p.GetTenantId(), p.GetAccountIds(), after, size+1)
	if err != nil || len(list) <= size {
		return list, "", err
	}
	list = list[:size]
	last := list[size-1]
	key, err := json.Marshal([]string{last.AccountID, last.LastName, last.FirstName, last.UserID})
	return list, nextPage(string(key)), err
}

// administratorCursor reads where a page of administrators starts (nil: from the
// beginning): the last one's account, last name, first name and user ID as JSON.
func administratorCursor(key string) (*Administrator, error) {
	if key == "" {
		return nil, nil
	}
	var k []string
	if json.Unmarshal([]byte(key), &k) != nil || len(k) != 4 || k[0] == "" || k[3] == "" || !filter.PlainText(strings.Join(k, "")) {
		return nil, errs.Invalid("page_token", "is not a token this service issued")
	}
	return &Administrator{AccountID: k[0], LastName: k[1], FirstName: k[2], UserID: k[3]}, nil
}

// ProductLines is what linking users to product lines needs of the catalog.
type ProductLines interface {
	// CheckProductLine returns NotFound for an unknown product line.
	CheckProductLine(ctx context.Context, id string) error
}

// checkProductLines refuses product lines the catalog does not have.
func (a *App) checkProductLines(ctx context.Context, lines []string) error {
	for i, id := range lines {
		field := fmt.Sprintf("user.product_lines[%d]", i)
		if slices.Contains(lines[:i], id) {
			return errs.Invalid(field, "product line %q is listed twice", id)
		}
		if err := a.productLines.CheckProductLine(ctx, id); errs.IsKind(err, errs.KindNotFound) {
			return errs.Invalid(field, "product line %q does not exist", id)
		} else if err != nil {
			return err
		}
	}
	return nil
}
