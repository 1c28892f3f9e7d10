"""An evaluation set: plain-word requests an agent sends to `search_tools`, and the operations that do them.

Written before the verb/method ranking work (branch discofix) from each API's reference: the task
first, then the operation that performs it. `REPORTED` are the new-user trial's requests
(`trial_bigapi_report.md`, fault 2 and 7, plus those it saw working); `GITHUB`, `STRIPE` and
`KUBERNETES` are more of the same kind — mostly writes said with everyday verbs ("close",
"rename", "make … private"), where a create operation ranking first does the opposite of what was
asked. Each entry lists every operation that does the task; a hit is any of them.
`tests/discovery/test_discovery_requests.py` holds the rates; `bench/discovery_requests.py`
prints top-1/top-3/top-5 before and after.
"""

from __future__ import annotations

Request = tuple[str, tuple[str, ...]]

# (api, request, answers): the trial's requests, each must rank its operation in the top 3
REPORTED: list[tuple[str, str, tuple[str, ...]]] = [
    ("github", "close an issue", ("issues/update",)),
    ("github", "close issue", ("issues/update",)),
    ("github", "who am I logged in as", ("users/get-authenticated",)),
    ("github", "who am I", ("users/get-authenticated",)),
    ("github", "delete a branch", ("git/delete-ref",)),
    ("github", "make a repository private", ("repos/update",)),
    ("stripe", "update a customer email", ("PostCustomersCustomer",)),
    # the trial saw these work: they must keep working
    ("github", "list issues in a repository", ("issues/list-for-repo",)),
    ("github", "who starred a repo", ("activity/list-stargazers-for-repo",)),
    ("github", "merge a pull request", ("pulls/merge",)),
    ("github", "re-run a failed workflow", ("actions/re-run-workflow", "actions/re-run-workflow-failed-jobs")),
    ("github", "what is my rate limit", ("rate-limit/get",)),
    ("github", "edit an issue", ("issues/update",)),
    ("stripe", "refund a charge", ("PostRefunds", "PostChargesChargeRefunds", "PostChargesChargeRefund")),
    ("stripe", "void an invoice", ("PostInvoicesInvoiceVoid",)),
]

GITHUB: list[Request] = [
    ("reopen a closed issue", ("issues/update",)),
    ("close a pull request", ("pulls/update",)),
    ("rename a repository", ("repos/update",)),
    ("archive a repository", ("repos/update",)),
    ("change the default branch of a repo", ("repos/update",)),
    ("update the title of a pull request", ("pulls/update",)),
    ("delete a comment on an issue", ("issues/delete-comment",)),
    ("edit a comment on an issue", ("issues/update-comment",)),
    ("create a branch", ("git/create-ref",)),
    ("remove a collaborator from a repository", ("repos/remove-collaborator",)),
    ("update my profile bio", ("users/update-authenticated",)),
    ("show my profile", ("users/get-authenticated",)),
    ("delete a release", ("repos/delete-release",)),
    ("delete a gist", ("gists/delete",)),
    ("mark all notifications as read", ("activity/mark-notifications-as-read",)),
    ("unstar a repository", ("activity/unstar-repo-for-authenticated-user",)),
    ("update a file in a repository", ("repos/create-or-update-file-contents",)),
    ("delete a file from a repository", ("repos/delete-file",)),
    ("dismiss a review on a pull request", ("pulls/dismiss-review",)),
    ("edit a release", ("repos/update-release",)),
    ("list my gists", ("gists/list",)),
]

STRIPE: list[Request] = [
    ("change a customer's address", ("PostCustomersCustomer",)),
    ("get a customer", ("GetCustomersCustomer",)),
    ("create a customer", ("PostCustomers",)),
    ("list all charges", ("GetCharges",)),
    ("update a subscription", ("PostSubscriptionsSubscriptionExposedId",)),
    ("cancel a payment intent", ("PostPaymentIntentsIntentCancel",)),
    ("delete a product", ("DeleteProductsId",)),
    ("rename a product", ("PostProductsId",)),
    ("capture a charge", ("PostChargesChargeCapture",)),
    ("finalize a draft invoice", ("PostInvoicesInvoiceFinalize",)),
    ("remove a customer's discount", ("DeleteCustomersCustomerDiscount",)),
    ("edit a draft invoice", ("PostInvoicesInvoice",)),
    ("list webhook endpoints", ("GetWebhookEndpoints",)),
    ("delete a webhook endpoint", ("DeleteWebhookEndpointsWebhookEndpoint",)),
]

KUBERNETES: list[Request] = [
    ("delete a pod", ("deleteCoreV1NamespacedPod",)),
    ("list pods in a namespace", ("listCoreV1NamespacedPod",)),
    ("create a config map", ("createCoreV1NamespacedConfigMap",)),
    ("update a configmap", ("patchCoreV1NamespacedConfigMap", "replaceCoreV1NamespacedConfigMap")),
    ("show a pod", ("readCoreV1NamespacedPod",)),
    ("remove all pods in a namespace", ("deleteCoreV1CollectionNamespacedPod",)),
    ("edit a custom resource definition", ("patchApiextensionsV1CustomResourceDefinition",
                                           "replaceApiextensionsV1CustomResourceDefinition")),
    ("get a config map", ("readCoreV1NamespacedConfigMap",)),
]
