package oak

import (
	"errors"
	"testing"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"N9GJ-WFNE-LH1M": "N9GJWFNELH1M", "n9gj wfne lh1m": "N9GJWFNELH1M",
	} {
		if got, err := Normalize(in); err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "ABC", "N9GJ_WFNE", "ÄÄÄÄÄÄÄÄÄ"} {
		if _, err := Normalize(bad); !errors.Is(err, ErrFormat) {
			t.Errorf("Normalize(%q) err = %v", bad, err)
		}
	}
}

func TestProof(t *testing.T) {
	k, err := DeriveKey("accc8e010000", "N9GJ-WFNE-LH1M")
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := DeriveKey("ACCC8E010000", "n9gjwfnelh1m")
	if string(k) != string(k2) {
		t.Fatal("derivation depends on case or dashes")
	}
	other, _ := DeriveKey("ACCC8E010001", "N9GJ-WFNE-LH1M")
	if string(k) == string(other) {
		t.Fatal("serial does not salt the key")
	}
	nonce, binding := []byte("challenge"), []byte("spki-hash")
	p := Proof(k, "ACCC8E010000", nonce, binding)
	if !Verify(k, "ACCC8E010000", nonce, binding, p) {
		t.Error("good proof refused")
	}
	if Verify(k, "ACCC8E010000", []byte("other"), binding, p) {
		t.Error("proof accepted for another nonce")
	}
	if Verify(k, "ACCC8E010000", nonce, []byte("other"), p) {
		t.Error("proof accepted for another key pair")
	}
	if Verify(other, "ACCC8E010000", nonce, binding, p) {
		t.Error("proof accepted with a wrong OAK")
	}
}
