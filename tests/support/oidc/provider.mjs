// The tests' OpenID Connect provider: oidc-provider with its development login (any password),
// one confidential client, and a `groups` claim: ann is in "students", bob in none.
//   node provider.mjs ISSUER_URL HOST PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI
import Provider from "oidc-provider";

const [issuer, host, port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const groups = { ann: ["students"], bob: [] };

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    grant_types: ["authorization_code"],
    response_types: ["code"],
  }],
  claims: { openid: ["sub"], profile: ["preferred_username", "groups"] },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, groups: groups[id] ?? [] };
      },
    };
  },
  features: { devInteractions: { enabled: true } },
});
provider.listen(Number(port), host, () => console.log(`oidc: ${issuer} listening`));
