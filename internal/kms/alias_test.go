package kms

import (
	"strings"
	"testing"
)

func TestAliases(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxAliasesPerKey = 3 })
	ctx := t.Context()
	m := e.createKey(t, alice)
	m2 := e.createKey(t, alice)
	for _, name := range []string{"alias/b", "alias/a/nested_x-1"} {
		if err := e.k.CreateAlias(ctx, alice, name, m.KeyID); err != nil {
			t.Fatalf("CreateAlias(%s): %v", name, err)
		}
	}
	if err := e.k.CreateAlias(ctx, alice, "alias/c", m2.Arn); err != nil {
		t.Fatal(err)
	}
	if err := e.k.CreateAlias(ctx, aliceEU, "alias/b", e.createKey(t, aliceEU).KeyID); err != nil {
		t.Fatalf("same alias name in another region: %v", err)
	}

	long := "alias/" + strings.Repeat("x", 251)
	tests := []struct {
		name, alias, target string
		code, msg           string
	}{
		{"no prefix", "orders", m.KeyID, CodeValidation, `Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html`},
		{"reserved", "alias/aws/mine", m.KeyID, CodeNotAuthorized, ""},
		{"colon", "alias/my:alias", m.KeyID, CodeValidation, "alias/my:alias contains invalid characters for an alias"},
		{"pattern", "alias/my alias", m.KeyID, CodeValidation, "1 validation error detected: Value 'alias/my alias' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"},
		{"bare prefix", "alias/", m.KeyID, CodeValidation, "1 validation error detected: Value 'alias/' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"},
		{"too long", long, m.KeyID, CodeValidation, "1 validation error detected: Value '" + long + "' at 'aliasName' failed to satisfy constraint: Member must have length less than or equal to 256"},
		{"empty", "", m.KeyID, CodeValidation, "1 validation error detected: Value '' at 'aliasName' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"target is an alias", "alias/d", "alias/b", CodeValidation, "Aliases must refer to keys. Not aliases"},
		{"target is an alias ARN", "alias/d", "arn:aws:kms:us-east-1:111122223333:alias/b", CodeValidation, "Aliases must refer to keys. Not aliases"},
		{"exists", "alias/b", m2.KeyID, CodeAlreadyExists, "An alias with the name arn:aws:kms:us-east-1:111122223333:alias/b already exists"},
		{"unknown key", "alias/d", "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d", CodeNotFound, "Key 'arn:aws:kms:us-east-1:111122223333:key/0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d' does not exist"},
		{"key of another account", "alias/d", KeyARN(bob.Account, bob.Region, m.KeyID), CodeNotFound, "Key '" + KeyARN(bob.Account, bob.Region, m.KeyID) + "' does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, e.k.CreateAlias(ctx, alice, tt.alias, tt.target), tt.code, tt.msg)
		})
	}
	// The alias quota per key.
	if err := e.k.CreateAlias(ctx, alice, "alias/third", m.KeyID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, e.k.CreateAlias(ctx, alice, "alias/fourth", m.KeyID), CodeLimitExceeded, "The number of aliases of "+m.Arn+" would exceed its quota of 3")

	// ListAliases: name order, alias/aws/kinesis listed before its key exists, paging, filter.
	out, err := e.k.ListAliases(ctx, alice, "", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range out.Aliases {
		names = append(names, a.AliasName)
		if a.AliasArn != AliasARN(alice.Account, alice.Region, a.AliasName) {
			t.Errorf("AliasArn %s", a.AliasArn)
		}
		switch a.AliasName {
		case KinesisManagedAlias:
			if a.TargetKeyID != "" || !a.CreationDate.IsZero() {
				t.Errorf("alias/aws/kinesis before first use: %+v", a)
			}
		case "alias/c":
			if a.TargetKeyID != m2.KeyID || !a.CreationDate.Equal(t0) || !a.LastUpdatedDate.Equal(t0) {
				t.Errorf("alias/c: %+v", a)
			}
		}
	}
	if got := strings.Join(names, " "); got != "alias/a/nested_x-1 alias/aws/kinesis alias/b alias/c alias/third" {
		t.Errorf("aliases = %s", got)
	}
	page, err := e.k.ListAliases(ctx, alice, "", 2, "")
	if err != nil || len(page.Aliases) != 2 || !page.Truncated {
		t.Fatalf("page 1 = %+v, %v", page, err)
	}
	page, err = e.k.ListAliases(ctx, alice, "", 2, page.NextMarker)
	if err != nil || len(page.Aliases) != 2 || page.Aliases[0].AliasName != "alias/b" {
		t.Fatalf("page 2 = %+v, %v", page, err)
	}
	byKey, err := e.k.ListAliases(ctx, alice, m2.Arn, 0, "")
	if err != nil || len(byKey.Aliases) != 1 || byKey.Aliases[0].AliasName != "alias/c" {
		t.Errorf("aliases of m2 = %+v, %v", byKey, err)
	}
	_, err = e.k.ListAliases(ctx, alice, "", 101, "")
	wantErr(t, err, CodeValidation, "1 validation error detected: Value '101' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100")

	// DeleteAlias.
	if err := e.k.DeleteAlias(ctx, alice, "alias/b"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, e.k.DeleteAlias(ctx, alice, "alias/b"), CodeNotFound, "Alias arn:aws:kms:us-east-1:111122223333:alias/b is not found.")
	wantErr(t, e.k.DeleteAlias(ctx, alice, "b"), CodeValidation, `Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html`)
	wantErr(t, e.k.DeleteAlias(ctx, alice, KinesisManagedAlias), CodeNotAuthorized, "")
	if _, err := e.k.DescribeKey(ctx, aliceEU, "alias/b"); err != nil {
		t.Errorf("alias/b of eu-west-1 after deleting us-east-1's: %v", err)
	}
	if got, err := e.k.DescribeKey(ctx, alice, m.KeyID); err != nil || got.KeyState != "Enabled" {
		t.Errorf("key after its alias was deleted: %+v, %v", got, err)
	}
}

func TestKinesisManagedKeyIsLazyPerAccountAndRegion(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	if keys, _ := e.k.ListKeys(ctx, alice, 0, ""); len(keys.Keys) != 0 {
		t.Fatalf("keys before first use: %+v", keys.Keys)
	}
	seen := map[string]bool{}
	for _, c := range []Caller{alice, bob, aliceEU} {
		m, err := e.k.DescribeKey(ctx, c, KinesisManagedAlias)
		if err != nil {
			t.Fatal(err)
		}
		if m.KeyManager != "AWS" || m.KeyState != "Enabled" || m.AWSAccountID != c.Account || !strings.Contains(m.Arn, ":"+c.Region+":") {
			t.Errorf("%+v: managed key %+v", c, m)
		}
		if m.Description != "Default key that protects my Kinesis data when no other key is defined" {
			t.Errorf("description %q", m.Description)
		}
		seen[m.KeyID] = true
		again, err := e.k.DescribeKey(ctx, c, AliasARN(c.Account, c.Region, KinesisManagedAlias))
		if err != nil || again.KeyID != m.KeyID {
			t.Errorf("second use: %+v, %v", again, err)
		}
		policy, err := e.k.GetKeyPolicy(ctx, c, KinesisManagedAlias, "")
		if err != nil || !strings.Contains(policy, `"kms:ViaService" : "kinesis.`+c.Region+`.amazonaws.com"`) || !strings.Contains(policy, `"kms:CallerAccount" : "`+c.Account+`"`) {
			t.Errorf("managed policy: %s, %v", policy, err)
		}
		// Its account cannot change it.
		wantErr(t, e.k.DisableKey(ctx, c, m.KeyID), CodeAccessDenied, "User: arn:aws:iam::"+c.Account+":root is not authorized to perform: kms:DisableKey on resource: "+m.Arn+" because no resource-based policy allows the kms:DisableKey action")
		_, err = e.k.ScheduleKeyDeletion(ctx, c, m.KeyID, 7)
		wantErr(t, err, CodeAccessDenied, "User: arn:aws:iam::"+c.Account+":root is not authorized to perform: kms:ScheduleKeyDeletion on resource: "+m.Arn+" because no resource-based policy allows the kms:ScheduleKeyDeletion action")
		list, _ := e.k.ListAliases(ctx, c, "", 0, "")
		if len(list.Aliases) != 1 || list.Aliases[0].TargetKeyID != m.KeyID {
			t.Errorf("aliases after first use: %+v", list.Aliases)
		}
	}
	if len(seen) != 3 {
		t.Errorf("managed keys %v: want one per account and region", seen)
	}
	// Another account may not use it, even by ARN: its policy lets only its own account in; and a
	// stranger's reference does not create it.
	carolAlias := AliasARN("777788889999", "us-east-1", KinesisManagedAlias)
	_, err := e.k.DescribeKey(ctx, bob, carolAlias)
	wantErr(t, err, CodeNotFound, "Alias "+carolAlias+" is not found.")
	m, _ := e.k.DescribeKey(ctx, alice, KinesisManagedAlias)
	_, err = e.k.GenerateDataKey(ctx, bob, &GenerateDataKeyIn{KeyID: m.Arn, KeySpec: "AES_256"})
	wantErr(t, err, CodeAccessDenied, "User: arn:aws:iam::444455556666:root is not authorized to perform: kms:GenerateDataKey on resource: "+m.Arn+" because no resource-based policy allows the kms:GenerateDataKey action")
}
