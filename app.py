from kefu import create_app
app = create_app()
