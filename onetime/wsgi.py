import os

from django.core.wsgi import get_wsgi_application

from onetime.core.wsgi import ChunkedRequestBody

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onetime.settings")

application = ChunkedRequestBody(get_wsgi_application())
