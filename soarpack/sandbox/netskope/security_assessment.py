"""The fields of a Security Assessment alert: a cloud account's posture-rule violation.

The vendor's Security Assessment examples carry the profile and rule that failed
(`sa_profile_name`, `sa_rule_id`, `sa_rule_name`, `sa_rule_severity`,
`sa_rule_remediation`), the cloud account, region and object scanned, and the
`compliance_standards` the rule maps to: a list of objects with `standard`, `section`,
`control`, `description`, `reference_url` and `id`. The two documented compliance
queries, `compliance_standards.standard eq 'CSA-CCM-3.0.1'` and `... in [...]`,
select on those. v1 alerts (`alerts.py`) and the v2 `alerts/securityassessment`
stream (`event_records.py`) both take their fields from `security_assessment_fields`.

The catalogue below is the sandbox's own: three providers' CIS foundations profiles,
a handful of rules each, mapped to standards so that every standard of the documented
queries is met by several rules. Most rules map to CSA CCM, as most CIS controls do.
"""

from __future__ import annotations

import random
from typing import NamedTuple

from soarpack.sandbox.netskope.seeded import Record, guid, hex_string

__all__ = ["PROFILES", "STANDARDS", "security_assessment_fields"]


class Standard(NamedTuple):
    """One control of a compliance standard, as a rule's `compliance_standards` names it."""

    standard: str
    section: str
    control: str
    description: str
    reference_url: str
    id: int

    def as_record(self) -> Record:
        return self._asdict()


_CSA = "https://cloudsecurityalliance.org/research/cloud-controls-matrix/"
_NIST = "https://nvlpubs.nist.gov/nistpubs/CSWP/NIST.CSWP.04162018.pdf"
#: Standards by a short key; the `standard` value is what queries select on.
STANDARDS: dict[str, Standard] = {
    "csa-sef": Standard(
        "CSA-CCM-3.0.1",
        "SEF",
        "02",
        "Security Incident Management: Incident Management",
        _CSA,
        -91402,
    ),
    "csa-iam": Standard(
        "CSA-CCM-3.0.1",
        "IAM",
        "12",
        "Identity & Access Management: User ID Credentials",
        _CSA,
        -91377,
    ),
    "csa-ekm": Standard(
        "CSA-CCM-3.0.1",
        "EKM",
        "04",
        "Encryption & Key Management: Storage and Access",
        _CSA,
        -91351,
    ),
    "nist-rs": Standard(
        "NIST-CSF-1.1",
        "RS.CO",
        "1",
        "Personnel know their roles when a response is needed",
        _NIST,
        -7701,
    ),
    "nist-pr": Standard(
        "NIST-CSF-1.1",
        "PR.AC",
        "4",
        "Access permissions are managed with least privilege",
        _NIST,
        -7688,
    ),
    "nist-ds": Standard(
        "NIST-CSF-1.1",
        "PR.DS",
        "1",
        "Data at rest is protected",
        _NIST,
        -7692,
    ),
    "cis-aws-1": Standard(
        "CIS-AWSFND-1.2.0",
        "1",
        "1.22",
        "Ensure a support role has been created",
        "https://www.cisecurity.org/benchmark/amazon_web_services/",
        -5102,
    ),
    "cis-aws-2": Standard(
        "CIS-AWSFND-1.2.0",
        "2",
        "2.7",
        "Ensure CloudTrail logs are encrypted at rest",
        "https://www.cisecurity.org/benchmark/amazon_web_services/",
        -5127,
    ),
    "cis-azure-4": Standard(
        "CIS-AZRFND-1.0.0",
        "4",
        "1.4",
        "Ensure that 'Send alerts to' is set",
        "https://www.cisecurity.org/benchmark/azure/",
        -5414,
    ),
    "cis-azure-3": Standard(
        "CIS-AZRFND-1.0.0",
        "3",
        "3.1",
        "Ensure that 'Secure transfer required' is enabled",
        "https://www.cisecurity.org/benchmark/azure/",
        -5398,
    ),
    "cis-gcp-5": Standard(
        "CIS-GCPFND-1.0.0",
        "5",
        "5.1",
        "Ensure buckets are not anonymously accessible",
        "https://www.cisecurity.org/benchmark/google_cloud_computing_platform/",
        -5633,
    ),
}


class Rule(NamedTuple):
    id: int
    name: str
    severity: str
    object_type: str
    resource_category: str
    standards: tuple[str, ...]  # keys of STANDARDS
    fix: str  # the remediation's steps, one line


class Profile(NamedTuple):
    name: str
    id: int
    app: str
    site: str
    regions: tuple[tuple[str, str], ...]  # (region_id, region_name)
    rules: tuple[Rule, ...]


# fmt: off
PROFILES: tuple[Profile, ...] = (
    Profile(
        "CIS AWS Foundations Benchmark v1.2.0", -1001000, "Amazon Web Services",
        "Amazon Web Services",
        (("us-east-1", "US East (N. Virginia)"), ("eu-west-1", "EU (Ireland)"), ("", "")),
        (
            Rule(-1001017, "CIS-AWSFND | 1.22 Ensure a support role has been created to manage "
                 "incidents with AWS Support", "Medium", "Policy", "Identity",
                 ("csa-sef", "nist-rs", "cis-aws-1"),
                 "Create an IAM role trusted by your incident responders and attach the "
                 "AWSSupportAccess managed policy to it."),
            Rule(-1001031, "CIS-AWSFND | 2.7 Ensure CloudTrail logs are encrypted at rest "
                 "using KMS CMKs", "High", "Trail", "Logging",
                 ("csa-ekm", "nist-ds", "cis-aws-2"),
                 "Edit the trail, enable SSE-KMS and choose a customer managed key."),
            Rule(-1001044, "IAM user has console access without MFA", "Critical", "User",
                 "Identity", ("csa-iam", "nist-pr"),
                 "Enable a virtual or hardware MFA device for the user, or remove the "
                 "console password."),
        ),
    ),
    Profile(
        "CIS Azure Foundations Benchmark v1.0.0", -2001000, "Microsoft Azure", "Windows Azure",
        (("westeurope", "West Europe"), ("eastus", "East US")),
        (
            Rule(-2067, "Personnel know response roles/operations: Ensure that 'Send Alerts "
                 "to' is set for SQL Servers", "High", "Instance", "Database",
                 ("csa-sef", "nist-rs", "cis-azure-4"),
                 "In SQL servers, open Auditing & Threat Detection for each server and set "
                 "'Send alerts to' to your responders."),
            Rule(-2031, "Ensure that 'Secure transfer required' is enabled for storage "
                 "accounts", "Medium", "StorageAccount", "Storage",
                 ("csa-ekm", "cis-azure-3"),
                 "In the storage account's configuration, set 'Secure transfer required' "
                 "to Enabled."),
            Rule(-2088, "Guest users have owner permissions on a subscription", "High",
                 "Subscription", "Identity", ("nist-pr",),
                 "Remove the Owner role from guest accounts; grant the least role needed."),
        ),
    ),
    Profile(
        "CIS Google Cloud Platform Foundation Benchmark v1.0.0", -3001000,
        "Google Cloud Platform", "Google Cloud Platform",
        (("us-central1", "Iowa"), ("europe-west3", "Frankfurt")),
        (
            Rule(-3051, "Ensure that Cloud Storage bucket is not anonymously or publicly "
                 "accessible", "Critical", "Bucket", "Storage",
                 ("csa-iam", "nist-ds", "cis-gcp-5"),
                 "Remove allUsers and allAuthenticatedUsers from the bucket's IAM policy."),
            Rule(-3012, "Service account has user-managed keys older than 90 days", "Low",
                 "ServiceAccount", "Identity", ("csa-iam",),
                 "Rotate the service account's user-managed keys and delete the old ones."),
        ),
    ),
)
# fmt: on


def _remediation(profile: Profile, rule: Rule) -> str:
    # Shaped like the vendor's: an HTML fragment with the console steps.
    return (
        "<html>\n<body>\n <b>"
        + profile.app
        + " console:</b>\n <ol>\n  <li>"
        + rule.fix
        + "</li>\n </ol>\n</body>\n</html>\n"
    )


def _account(rng: random.Random, profile: Profile) -> tuple[str, str]:
    """(account_id, account_name) in the form the provider gives them."""
    if profile.app == "Amazon Web Services":
        number = str(rng.randint(10**11, 10**12 - 1))
        return number, f"aws-{number[-4:]}"
    if profile.app == "Microsoft Azure":
        return guid(rng).lower(), rng.choice(("iaas-prod", "iaas-qe", "iaas-dev"))
    project = f"{rng.choice(('analytics', 'web', 'billing'))}-{rng.randint(100000, 999999)}"
    return project, project


def _object(rng: random.Random, profile: Profile, rule: Rule, account_id: str) -> str:
    name = f"{rng.choice(('automation', 'prod', 'backup', 'shared'))}{rng.randint(1000, 9999)}"
    if profile.app == "Amazon Web Services":
        return f"arn:aws:iam::{account_id}:{rule.object_type.lower()}/{name}"
    return name


def security_assessment_fields(rng: random.Random) -> Record:
    """The Security Assessment fields of one alert, drawn from `rng`.

    They replace the generic alert's app, device and browser fields (a posture scan
    has no browser or device), so they are meant to be merged over them.
    """
    profile = rng.choice(PROFILES)
    rule = rng.choice(profile.rules)
    region_id, region_name = rng.choice(profile.regions)
    account_id, account_name = _account(rng, profile)
    instance = f"{profile.app.split()[-1].lower()}{rng.randint(10, 99)}"
    return {
        "alert_name": rule.name,
        "policy": f"{instance}_policy",
        "policy_id": rng.randint(1, 9),
        "app": profile.app,
        "site": profile.site,
        "appcategory": "IaaS/PaaS",
        "category": "IaaS/PaaS",
        "ccl": "excellent",
        "cci": 96 if profile.app == "Microsoft Azure" else 94,
        "access_method": "API Connector",
        "activity": "Introspection Scan",
        "action": "alert",
        "traffic_type": "CloudApp",
        "device": "other",
        "os": "unknown",
        "browser": "unknown",
        "organization_unit": "",
        "sa_profile_name": profile.name,
        "sa_profile_id": profile.id,
        "sa_rule_id": rule.id,
        "sa_rule_name": rule.name,
        "sa_rule_severity": rule.severity,
        "sa_rule_remediation": _remediation(profile, rule),
        "compliance_standards": [STANDARDS[key].as_record() for key in rule.standards],
        "account_id": account_id,
        "account_name": account_name,
        "instance_id": instance,
        "region_id": region_id,
        "region_name": region_name,
        "object": _object(rng, profile, rule, account_id),
        "object_type": rule.object_type,
        "resource_category": rule.resource_category,
        "asset_object_id": hex_string(rng, 24),
        "iaas_asset_tags": [],
        "iaas_remediated": "false",
    }
