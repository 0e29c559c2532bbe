from django.db import models


class AuditAction(models.TextChoices):
    CREATE = "create", "Création"
    UPDATE = "update", "Modification"
    DELETE = "delete", "Suppression"
    TRANSITION = "transition", "Changement d’état"
    EXPORT = "export", "Export de données personnelles"
    DOWNLOAD = "download", "Téléchargement"
    IMPORT = "import", "Import"
    LOGIN = "login", "Connexion"
    LOGOUT = "logout", "Déconnexion"
    LOGIN_FAILED = "login_failed", "Échec de connexion"


class AuditOrigin(models.TextChoices):
    WEB = "web", "Application web"
    CLI = "cli", "Ligne de commande"
