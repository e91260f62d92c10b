/**
 * CloudTrail `userIdentity` to ECS `user.*`, `aws.cloudtrail.user_identity` and related users.
 *
 * `user.name` follows Elastic's AWS integration, so that searches and detection content written for it
 * work here: an assumed role's user is the role (the session issuer's userName), its session name is
 * kept in `aws.cloudtrail.user_identity.session_context.session_name`; an IAM Identity Center user is
 * the UserName its sign-in events carry in additionalEventData. `related.user` lists names and the
 * principal ids (userIdentity's and the session issuer's) an analyst pivots on.
 */
import type { EcsDocument } from '../types.ts';
import { bool, obj, parseTime, str } from '../values.ts';

/** Values CloudTrail puts where it hides a name; not worth pivoting on in related.user. */
export const HIDDEN = 'HIDDEN_DUE_TO_SECURITY_REASONS';

export interface Identity {
  /** ECS `user`. */
  user: EcsDocument;
  /** `aws.cloudtrail.user_identity`. */
  detail: EcsDocument;
  accountId: string | undefined;
  /** Names and ids for related.user, in order. */
  names: string[];
}

/** A plausible e-mail address (ECS user.email), checked without a regular expression. */
function looksLikeEmail(s: string): boolean {
  const at = s.indexOf('@');
  return at > 0 && at === s.lastIndexOf('@') && s.indexOf('.', at) > at + 1 && s.indexOf(' ') < 0;
}

/** The last `/`-separated part of an ARN's resource (`user/path/Alice` -> `Alice`). */
function arnLastSegment(arn: string | undefined): string | undefined {
  if (!arn) return undefined;
  const i = arn.lastIndexOf('/');
  return i >= 0 && i < arn.length - 1 ? arn.slice(i + 1) : undefined;
}

/** `arn:aws:sts::1:assumed-role/Role/Session` -> {role: 'Role', session: 'Session'}. */
function assumedRoleArn(arn: string | undefined): { role?: string; session?: string } {
  if (!arn) return {};
  const i = arn.indexOf(':assumed-role/');
  if (i < 0) return {};
  const rest = arn.slice(i + ':assumed-role/'.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return { role: rest || undefined };
  return { role: rest.slice(0, slash) || undefined, session: rest.slice(slash + 1) || undefined };
}

/** The part after the first `:` of a principalId (`AROA...:session-name` -> `session-name`). */
function principalSuffix(principalId: string | undefined): string | undefined {
  if (!principalId) return undefined;
  const i = principalId.indexOf(':');
  return i >= 0 && i < principalId.length - 1 ? principalId.slice(i + 1) : undefined;
}

/**
 * `additionalEventData` is read for Identity Center sign-ins only (signin / Identity Center events
 * carry the user's UserName there).
 */
export function identity(input: unknown, additionalEventData?: unknown): Identity | undefined {
  const raw = obj(input);
  if (!raw) return undefined;
  const type = str(raw.type);
  const arn = str(raw.arn);
  const principalId = str(raw.principalId);
  const accountId = str(raw.accountId);
  const userName = str(raw.userName);
  const invokedBy = str(raw.invokedBy);

  const sc = obj(raw.sessionContext);
  const issuer = obj(sc?.sessionIssuer);
  const attributes = obj(sc?.attributes);
  const webId = obj(sc?.webIdFederationData);
  const issuerName = issuer ? str(issuer.userName) : undefined;
  const issuerType = issuer ? str(issuer.type) : undefined;
  const onBehalfOf = obj(raw.onBehalfOf);
  const creation = parseTime(attributes?.creationDate);

  let name: string | undefined;
  let id: string | undefined = principalId;
  let roles: string[] | undefined;
  let email: string | undefined;
  let sessionName: string | undefined;
  switch (type) {
    case 'IAMUser':
      name = userName ?? arnLastSegment(arn);
      break;
    case 'AssumedRole': {
      const parsed = assumedRoleArn(arn);
      sessionName = parsed.session ?? principalSuffix(principalId);
      const role = (issuerType === undefined || issuerType === 'Role' ? issuerName : undefined) ?? parsed.role;
      name = role ?? sessionName ?? userName ?? arnLastSegment(arn);
      if (role) roles = [role];
      break;
    }
    case 'Root':
      name = 'root';
      id = principalId ?? accountId;
      break;
    case 'FederatedUser':
      name = (arn && arn.includes(':federated-user/') ? arnLastSegment(arn) : undefined) ?? principalSuffix(principalId) ?? userName;
      break;
    case 'AWSService':
      name = invokedBy;
      break;
    case 'IdentityCenterUser':
      id = str(onBehalfOf?.userId) ?? str(raw.userId) ?? principalId;
      name = str(obj(additionalEventData)?.UserName) ?? userName ?? arnLastSegment(arn);
      if (name !== undefined && looksLikeEmail(name)) email = name;
      break;
    case 'AWSAccount':
      name = userName ?? principalSuffix(principalId);
      break;
    case 'Unknown':
    case 'SAMLUser':
    case 'WebIdentityUser':
      name = userName;
      break;
    default:
      // No type: service events ({accountId, invokedBy}); anything else: whatever names itself.
      name = userName ?? invokedBy ?? arnLastSegment(arn);
      break;
  }

  const issuerPrincipalId = issuer ? str(issuer.principalId) : undefined;
  const names: string[] = [];
  if (name) names.push(name);
  if (sessionName) names.push(sessionName);
  if (issuerName) names.push(issuerName);
  if (principalId) names.push(principalId);
  if (issuerPrincipalId) names.push(issuerPrincipalId);

  return {
    user: { name, id, email, roles },
    accountId,
    names,
    detail: {
      type,
      arn,
      account_id: accountId,
      access_key_id: str(raw.accessKeyId),
      principal_id: principalId,
      invoked_by: invokedBy,
      user_name: userName,
      identity_provider: str(raw.identityProvider),
      credential_id: str(raw.credentialId),
      identity_store_arn: str(raw.identityStoreArn) ?? str(onBehalfOf?.identityStoreArn),
      on_behalf_of: onBehalfOf
        ? { user_id: str(onBehalfOf.userId), identity_store_arn: str(onBehalfOf.identityStoreArn) }
        : undefined,
      session_context:
        sc || sessionName
          ? {
              mfa_authenticated: attributes ? bool(attributes.mfaAuthenticated) : undefined,
              creation_date: creation?.toISOString(),
              session_name: sessionName,
              source_identity: str(sc?.sourceIdentity),
              ec2_role_delivery: str(sc?.ec2RoleDelivery),
              session_issuer: issuer
                ? {
                    type: issuerType,
                    principal_id: issuerPrincipalId,
                    arn: str(issuer.arn),
                    account_id: str(issuer.accountId),
                    user_name: issuerName,
                  }
                : undefined,
              web_id_federation_data: webId ? { federated_provider: str(webId.federatedProvider) } : undefined,
            }
          : undefined,
    },
  };
}
