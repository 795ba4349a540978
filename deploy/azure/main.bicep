// handbook-bot on Azure: an Azure Bot (Microsoft Teams channel) and a Linux App Service running the container.
//
//   az deployment group create -g <resource-group> -f deploy/azure/main.bicep -p @deploy/azure/main.parameters.json
//
// Identity: by default a user-assigned managed identity is the bot's identity (MicrosoftAppType
// UserAssignedMSI): no client secret exists, so there is none to leak or rotate. With appType
// 'SingleTenant' you bring an Entra app registration (appId + client secret) instead.
// Check without deploying: `az bicep build --file deploy/azure/main.bicep` (writes main.json, ARM).

@description('Short name used for every resource (letters, digits, hyphens).')
@minLength(3)
@maxLength(24)
param name string = 'handbook-bot'

@description('Azure region of the App Service and identity (the bot resource itself is global).')
param location string = resourceGroup().location

@description('Container image, e.g. myregistry.azurecr.io/handbook-bot:2025-07-23.')
param image string

@description('Azure Container Registry name holding the image (pulled with the managed identity); empty for a public registry.')
param acrName string = ''

@allowed(['UserAssignedMSI', 'SingleTenant'])
param appType string = 'UserAssignedMSI'

@description('SingleTenant only: the Entra app registration\'s Application (client) ID.')
param appId string = ''

@description('SingleTenant only: the app registration\'s client secret.')
@secure()
param appPassword string = ''

@description('Salt of the hashed user ids in the feedback store (the only user data kept): 32+ random characters, generated once and kept in Key Vault (main.parameters.json references it). The bot refuses to start without one. Rotation: deploy/README.md.')
@secure()
@minLength(32)
param userHashSalt string

@description('Optional PostgreSQL URL for the feedback store when running more than one instance.')
@secure()
param databaseUrl string = ''

@description('App Service plan SKU (B1 is enough for a department; P0v3 for zone redundancy and more memory).')
param skuName string = 'B1'

@description('Instances of the web app (more than one needs databaseUrl).')
@minValue(1)
param instances int = 1

@description('aiohttp worker processes per instance.')
@minValue(1)
param workers int = 2

@allowed(['F0', 'S1'])
param botSku string = 'F0'

@description('Optional HANDOFF_MENTIONS: who a hand-off in a channel @mentions in the asker\'s thread, e.g. tag:<tag id>=DAPA;user:<Entra object id>=Dana Lead (deploy/README.md step 4). Empty: no mention.')
param handoffMentions string = ''

@description('Optional TRIAGE_CONVERSATION_ID: the channel (19:...@thread.tacv2) where every hand-off is posted with "Mark resolved"; the app must be added to its team. Empty: none.')
param triageConversationId string = ''

var useMsi = appType == 'UserAssignedMSI'
var tenantId = subscription().tenantId

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${name}-id'
  location: location
}

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = if (!empty(acrName)) {
  name: acrName
}

resource acrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(acrName)) {
  name: guid(resourceGroup().id, identity.id, 'acrpull')
  scope: registry
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '7f951dda-4ed3-4680-a7ca-43fe172d538d')
  }
}

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: '${name}-plan'
  location: location
  kind: 'linux'
  sku: {
    name: skuName
    capacity: instances
  }
  properties: {
    reserved: true
  }
}

var baseSettings = [
  { name: 'MicrosoftAppType', value: appType }
  { name: 'MicrosoftAppId', value: useMsi ? identity.properties.clientId : appId }
  { name: 'MicrosoftAppTenantId', value: tenantId }
  { name: 'WEBSITES_PORT', value: '3978' }
  { name: 'PORT', value: '3978' }
  { name: 'WEB_WORKERS', value: string(workers) }
  { name: 'WEBSITES_ENABLE_APP_SERVICE_STORAGE', value: 'false' }
  { name: 'USER_HASH_SALT', value: userHashSalt }
]
var passwordSetting = useMsi ? [] : [{ name: 'MicrosoftAppPassword', value: appPassword }]
var databaseSetting = empty(databaseUrl) ? [] : [{ name: 'DATABASE_URL', value: databaseUrl }]
var mentionSetting = empty(handoffMentions) ? [] : [{ name: 'HANDOFF_MENTIONS', value: handoffMentions }]
var triageSetting = empty(triageConversationId) ? [] : [{ name: 'TRIAGE_CONVERSATION_ID', value: triageConversationId }]

resource site 'Microsoft.Web/sites@2023-12-01' = {
  name: name
  location: location
  kind: 'app,linux,container'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      linuxFxVersion: 'DOCKER|${image}'
      acrUseManagedIdentityCreds: !empty(acrName)
      acrUserManagedIdentityID: empty(acrName) ? null : identity.properties.clientId
      alwaysOn: skuName != 'F1'
      healthCheckPath: '/healthz'
      ftpsState: 'Disabled'
      minTlsVersion: '1.2'
      http20Enabled: true
      appSettings: concat(baseSettings, passwordSetting, databaseSetting, mentionSetting, triageSetting)
    }
  }
  dependsOn: [
    acrPull
  ]
}

resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: name
  location: 'global'
  kind: 'azurebot'
  sku: {
    name: botSku
  }
  properties: {
    displayName: 'Open Data Handbook'
    description: 'Answers questions from the CT Open Data Handbook; escalates to dapa@ct.gov.'
    endpoint: 'https://${site.properties.defaultHostName}/api/messages'
    msaAppType: appType
    msaAppId: useMsi ? identity.properties.clientId : appId
    msaAppTenantId: tenantId
    msaAppMSIResourceId: useMsi ? identity.id : null
    disableLocalAuth: false
  }
}

resource teams 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: bot
  name: 'MsTeamsChannel'
  location: 'global'
  properties: {
    channelName: 'MsTeamsChannel'
    properties: {
      isEnabled: true
    }
  }
}

@description('The bot\'s Microsoft App ID: put it in MicrosoftAppId when running `make teams-package`.')
output botAppId string = useMsi ? identity.properties.clientId : appId
output endpoint string = 'https://${site.properties.defaultHostName}/api/messages'
output healthz string = 'https://${site.properties.defaultHostName}/healthz'
