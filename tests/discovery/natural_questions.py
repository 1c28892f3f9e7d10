"""An evaluation set: questions a model asks in its own words, and the operations that answer them.

Written from the task (what a model needs to know or do, phrased as it would ask), with the answer
taken from the API's reference, before the ranking was looked at or changed. Unlike the imperative
tables in `github_queries.py` ("list commits"), these are questions ("who starred a repo"), so the
words are rarely the summary's: `starred` must meet `stargazers`, `who` names people, a noun stands
for its listing. Each entry lists every operation that answers the question; a hit is any of them.
`tests/discovery/test_discovery_questions.py` holds the top-5 rate at what the ranking reaches, and
`bench/discovery_quality.py` prints top-1 / top-5 before and after.
"""

from __future__ import annotations

Question = tuple[str, tuple[str, ...]]

GITHUB: list[Question] = [
    ("who starred a repo", ("activity/list-stargazers-for-repo",)),
    ("who is watching this repository", ("activity/list-watchers-for-repo",)),
    ("which repos has a user starred", ("activity/list-repos-starred-by-user",)),
    ("who follows me", ("users/list-followers-for-authenticated-user",)),
    ("who does a user follow", ("users/list-following-for-user",)),
    ("what languages is a repo written in", ("repos/list-languages",)),
    ("who contributed to a repository", ("repos/list-contributors",)),
    ("what tags does a repo have", ("repos/list-tags",)),
    ("who forked my repository", ("repos/list-forks",)),
    ("what topics does a repository have", ("repos/get-all-topics",)),
    ("who has access to a repository", ("repos/list-collaborators",)),
    ("is a user a collaborator on a repo", ("repos/check-collaborator",)),
    ("who can be assigned to issues in a repo", ("issues/list-assignees",)),
    ("what comments are on an issue", ("issues/list-comments",)),
    ("has a pull request been merged", ("pulls/check-if-merged",)),
    ("what reviews does a pull request have", ("pulls/list-reviews",)),
    ("which commits are in a pull request", ("pulls/list-commits",)),
    ("what workflows does a repo have", ("actions/list-repo-workflows",)),
    ("which actions secrets does a repository have", ("actions/list-repo-secrets",)),
    ("what releases does a repo have", ("repos/list-releases",)),
    ("how many API requests do I have left", ("rate-limit/get",)),
    ("which teams am I on", ("teams/list-for-authenticated-user",)),
    ("who is in a team", ("teams/list-members-in-org",)),
    ("what gists has a user published", ("gists/list-for-user",)),
    ("which organizations does a user belong to", ("orgs/list-for-user",)),
    ("which deploy keys does a repo have", ("repos/list-deploy-keys",)),
    ("what SSH keys does a user have", ("users/list-public-keys-for-user",)),
    ("is the main branch protected", ("repos/get-branch-protection",)),
    # compare-commits is the deprecated form of compare-commits-with-basehead (same endpoint, GitHub's note)
    ("what changed between two tags", ("repos/compare-commits", "repos/compare-commits-with-basehead")),
    ("who reacted to an issue", ("reactions/list-for-issue",)),
    ("what files are in a folder of a repo", ("repos/get-content",)),
    ("what repositories does an organization have", ("repos/list-for-org",)),
    ("who have I blocked", ("users/list-blocked-by-authenticated-user",)),
    ("which milestones does a repo have", ("issues/list-milestones",)),
    ("which check runs ran on a commit", ("checks/list-for-ref",)),
    ("what is the status of a deployment", ("repos/list-deployment-statuses", "repos/get-deployment-status")),
    ("how many people viewed my repository", ("repos/get-views",)),
    ("how many times was a repo cloned", ("repos/get-clones",)),
    ("who wrote a commit", ("repos/get-commit",)),
    ("is GitHub Pages enabled for a repo", ("repos/get-pages",)),
    ("what labels are on an issue", ("issues/list-labels-on-issue",)),
    ("what comments were left on a commit", ("repos/list-comments-for-commit",)),
]

STRIPE: list[Question] = [
    ("how much money is in my balance", ("GetBalance",)),
    ("refund a payment", ("PostRefunds", "PostChargesChargeRefunds", "PostChargesChargeRefund")),
    ("which invoices has a customer got", ("GetInvoices",)),
    ("cancel a subscription", ("DeleteSubscriptionsSubscriptionExposedId", "PostSubscriptionsSubscriptionExposedId")),
    ("who are my customers", ("GetCustomers",)),
    ("find a customer by email", ("GetCustomersSearch", "GetCustomers")),
    ("what payouts were sent to my bank", ("GetPayouts",)),
    ("create a payment link", ("PostPaymentLinks",)),
    ("what products do I sell", ("GetProducts",)),
    ("what prices does a product have", ("GetPrices",)),
    ("create a discount coupon", ("PostCoupons",)),
    ("which payments are disputed", ("GetDisputes",)),
    ("void an invoice", ("PostInvoicesInvoiceVoid",)),
    ("which cards has a customer saved", ("GetCustomersCustomerPaymentMethods", "GetPaymentMethods",
                                          "GetCustomersCustomerSources")),
    ("email an invoice to the customer", ("PostInvoicesInvoiceSend",)),
    ("delete a customer", ("DeleteCustomersCustomer",)),
]
