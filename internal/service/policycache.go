package service

import (
	"kinesisd/internal/iam"
	"sync"
)

// Resource policies compiled once per document, for Authorize (authz.go).

// policyCache holds resource policies compiled from their documents.
type policyCache struct{ m sync.Map } // document → *iam.Policy (nil: the document does not parse)

func (c *policyCache) get(doc string) *iam.Policy {
	if doc == "" || doc == emptyPolicy {
		return nil
	}
	if p, ok := c.m.Load(doc); ok {
		return p.(*iam.Policy)
	}
	p, err := iam.Parse([]byte(doc), iam.Resource)
	if err != nil {
		p = nil // PutResourcePolicy checks documents; one that does not parse allows nothing
	}
	c.m.Store(doc, p)
	return p
}

// emptyPolicy is what GetResourcePolicy returns for a resource without a policy.
const emptyPolicy = "{}"
