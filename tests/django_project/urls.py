from django.urls import path

from . import views

urlpatterns = [
    path("counter", views.counter),
    path("acounter", views.acounter),
    path("login", views.login_view),
    path("alogin", views.alogin_view),
    path("whoami", views.whoami),
    path("logout", views.logout_view),
    path("alogout", views.alogout_view),
    path("messages/add", views.add_message),
    path("messages/show", views.show_messages),
    path("flash/add", views.flash_add),
    path("flash/show", views.flash_show),
    path("form", views.form),
    path("expiry", views.expiry),
    path("testcookie/set", views.set_test_cookie),
    path("testcookie/check", views.check_test_cookie),
    path("interop/<str:side>/whoami", views.interop_whoami),
    path("interop/<str:side>/views", views.interop_views),
    path("interop/<str:side>/login", views.interop_login),
    path("interop/<str:side>/logout", views.interop_logout),
    path("boom", views.boom),
    path("save-after-logout", views.save_after_logout),
    path("asave-after-logout", views.asave_after_logout),
]
